import { z } from 'zod';

/** The `wechat:` section of the config. A service puppet's token is a secret: WECHATY_PUPPET_SERVICE_TOKEN. */
export const wechatConfig = z.strictObject({
  /** Empty: off unless WECHATY_PUPPET or WECHATY_PUPPET_SERVICE_TOKEN is set. */
  puppet: z.string(),
  name: z.string().min(1),
  memoryDir: z.string().min(1),
});
export type WechatConfig = z.infer<typeof wechatConfig>;
