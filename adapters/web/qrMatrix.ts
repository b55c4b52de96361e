import { createRequire } from 'node:module';

interface QRCodeModel {
  addData(data: string): void;
  make(): void;
  getModuleCount(): number;
  isDark(row: number, col: number): boolean;
}

// qrcode-terminal (already used to print the QR in a terminal) ships the QR encoder; reuse it to draw the code on the page.
const require = createRequire(import.meta.url);
const QRCode = require('qrcode-terminal/vendor/QRCode') as new (type: number, level: number) => QRCodeModel;
const QRErrorCorrectLevel = require('qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel') as { M: number };

/** The QR code for `data` as rows of '1' (dark) and '0' (light) modules. */
export function qrMatrix(data: string): string[] {
  const qr = new QRCode(-1, QRErrorCorrectLevel.M);
  qr.addData(data);
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => (qr.isDark(r, c) ? '1' : '0')).join(''));
}
