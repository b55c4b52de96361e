import type { ServerResponse } from 'node:http';
import type { LoginStore } from '../../../src/loginState.ts';
import { sendJson } from '../http.ts';
import { qrMatrix } from '../qrMatrix.ts';

/** GET /api/login: the WeChat login state published by the wechat adapter in this process, with the QR as a module matrix. */
export function loginRoute(res: ServerResponse, login: LoginStore) {
  const state = login.get('wechat');
  if (!state) return sendJson(res, 200, { wechat: null });
  const qr = state.status === 'scan' && state.qrcode ? qrMatrix(state.qrcode) : undefined;
  sendJson(res, 200, { wechat: { status: state.status, user: state.user, qr, updatedAt: state.updatedAt } });
}
