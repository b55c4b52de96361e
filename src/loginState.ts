/**
 * In-process login state that adapters publish and the web page shows
 * (e.g. the WeChat login QR code). Only meaningful when the adapter runs in
 * the same process as the web server (`npm start`, `kuakua bot`).
 */
export type LoginStatus = 'scan' | 'logged-in' | 'logged-out';

export interface LoginState {
  status: LoginStatus;
  /** The payload to encode as a QR code while status is 'scan'. */
  qrcode?: string;
  /** Display name of the logged-in account. */
  user?: string;
  updatedAt: number;
}

const states = new Map<string, LoginState>();

export function setLoginState(platform: string, state: Omit<LoginState, 'updatedAt'>): void {
  states.set(platform, { ...state, updatedAt: Date.now() });
}

export function getLoginState(platform: string): LoginState | undefined {
  return states.get(platform);
}

export function clearLoginState(platform: string): void {
  states.delete(platform);
}
