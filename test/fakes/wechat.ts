import { randomBytes } from 'node:crypto';
import * as PUPPET from 'wechaty-puppet';
import { type mock, PuppetMock } from 'wechaty-puppet-mock';

/** Where the puppet keeps its session in the memory card Wechaty gives it, as wechaty-puppet-wechat4u keeps its own. */
export const SESSION_SLOT = 'FAKE-PUPPET-SESSION';

type ContactMock = ReturnType<mock.Mocker['createContact']>;

/**
 * PuppetMock that logs in the way the real puppets do (wechaty-puppet-wechat4u): each start resumes the session saved
 * in its memory card, without a QR code; with none saved it shows a QR code and stays logged out until the account
 * scans it (`scan`), and then saves the session. So whether a restart needs a new scan depends on the memory card
 * Wechaty hands it, that is on where the adapter keeps its login.
 */
export class LoginPuppet extends PuppetMock {
  /** QR codes shown so far: one for each start that found no saved session. */
  qrCodes = 0;
  /** Starts that logged in from the saved session. */
  resumed = 0;

  override async onStart(): Promise<void> {
    await super.onStart();
    const saved = await this.memory.get(SESSION_SLOT);
    if (typeof saved === 'string' && this.mocker.cacheContactPayload.has(saved)) {
      this.resumed++;
      setImmediate(() => this.login(saved));
      return;
    }
    this.qrCodes++;
    const qrcode = `https://login.weixin.qq.com/l/${randomBytes(6).toString('hex')}`;
    setImmediate(() => this.emit('scan', { qrcode, status: PUPPET.types.ScanStatus.Waiting }));
  }

  /** The owner of `account` scans the QR code shown: the puppet logs in as them and saves the session. */
  async scan(account: ContactMock): Promise<void> {
    if (!this.authQrCode) throw new Error('no QR code is shown to scan');
    this.login(account.id);
    await this.memory.set(SESSION_SLOT, account.id);
    await this.memory.save();
  }
}
