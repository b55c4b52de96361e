import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCard } from 'memory-card';
import { afterAll, describe, expect, it } from 'vitest';
import { mock } from 'wechaty-puppet-mock';
import { waitFor } from '../helpers/wait.ts';
import { LoginPuppet, SESSION_SLOT } from './wechat.ts';

/** The fake puppet's own strictness: no saved session, no login without a scan. */

const dir = mkdtempSync(join(tmpdir(), 'kuakua-fake-puppet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A puppet on its own mocker, with the account `accountId` known to it, and the memory card stored at `name` in `dir`. */
async function puppetWith(name: string, accountId?: string) {
  const mocker = new mock.Mocker();
  const account = mocker.createContact({ name: 'kuakua', ...(accountId ? { id: accountId } : {}) });
  const puppet = new LoginPuppet({ mocker });
  const card = new MemoryCard(join(dir, name));
  await card.load();
  puppet.setMemory(card.multiplex('puppet'));
  const scans: string[] = [];
  puppet.on('scan', ({ qrcode }) => {
    if (qrcode) scans.push(qrcode);
  });
  return { puppet, account, scans };
}

/** A first run at `name`: a QR code shown, scanned, the session saved, the puppet stopped. */
async function loggedInOnce(name: string) {
  const first = await puppetWith(name);
  await first.puppet.start();
  await waitFor(() => first.scans[0], 'the QR code');
  await first.puppet.scan(first.account);
  await first.puppet.stop();
  return first;
}

describe('fake WeChat puppet (LoginPuppet)', () => {
  it('shows a QR code and stays logged out when no session is saved; a scan logs it in and saves the session', async () => {
    const { puppet, account, scans } = await puppetWith('first');
    await puppet.start();
    try {
      await waitFor(() => scans[0], 'the QR code');
      expect(puppet.authQrCode).toBe(scans[0]);
      expect(puppet.isLoggedIn).toBe(false);
      await puppet.scan(account);
      expect(puppet.currentUserId).toBe(account.id);
      const stored = new MemoryCard(join(dir, 'first'));
      await stored.load();
      expect(await stored.multiplex('puppet').get(SESSION_SLOT)).toBe(account.id);
    } finally {
      await puppet.stop();
    }
    expect({ qrCodes: puppet.qrCodes, resumed: puppet.resumed }).toEqual({ qrCodes: 1, resumed: 0 });
  });

  it('logs in from the saved session without a QR code, on a new start and after a reset', async () => {
    const first = await loggedInOnce('again');
    const { puppet, scans } = await puppetWith('again', first.account.id);
    await puppet.start();
    try {
      await waitFor(() => puppet.isLoggedIn || undefined, 'the login from the saved session');
      expect(puppet.currentUserId).toBe(first.account.id);
      await puppet.stop();
      await puppet.start();
      await waitFor(() => puppet.isLoggedIn || undefined, 'the login after the restart');
    } finally {
      await puppet.stop();
    }
    expect(scans).toEqual([]);
    expect({ qrCodes: puppet.qrCodes, resumed: puppet.resumed }).toEqual({ qrCodes: 0, resumed: 2 });
  });

  it('does not take a saved session for an account it does not know, and refuses a scan with no QR code shown', async () => {
    const first = await loggedInOnce('stranger');
    await expect(first.puppet.scan(first.account)).rejects.toThrow('no QR code is shown to scan');

    const other = await puppetWith('stranger');
    await other.puppet.start();
    try {
      await waitFor(() => other.scans[0], 'a QR code');
      expect(other.puppet.isLoggedIn).toBe(false);
    } finally {
      await other.puppet.stop();
    }
  });
});
