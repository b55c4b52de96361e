/**
 * Checks that the puppet module named in WECHATY_PUPPET / wechat.puppet can be loaded, so a missing one is a clear
 * one-line error instead of Wechaty's multi-line log and a stack trace. wechaty-puppet-wechat4u and
 * wechaty-puppet-service come with kuakua; any other puppet is installed by the user who chooses it.
 */
export function assertPuppetInstalled(name: string): void {
  try {
    import.meta.resolve(name);
  } catch {
    throw new Error(`WeChat puppet "${name}" is not installed: run \`npm install ${name}\` (or set WECHATY_PUPPET to an installed puppet)`);
  }
}
