import type { Platform } from './events.ts';

/**
 * Login state that adapters publish and the web page shows (e.g. the WeChat login QR code). One store per process,
 * made by the app and handed to the adapters and the web server through their context.
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

export class LoginStore {
  private readonly states = new Map<Platform, LoginState>();

  set(platform: Platform, state: Omit<LoginState, 'updatedAt'>): void {
    this.states.set(platform, { ...state, updatedAt: Date.now() });
  }

  get(platform: Platform): LoginState | undefined {
    return this.states.get(platform);
  }

  clear(platform: Platform): void {
    this.states.delete(platform);
  }
}
