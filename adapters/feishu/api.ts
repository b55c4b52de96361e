import type { Client } from '@larksuiteoapi/node-sdk';
import { PermanentAdapterError } from '../../src/adapter.ts';
import type { FeishuBot } from './translate.ts';

/** A non-zero `code` in an open platform answer. */
export class FeishuApiError extends Error {
  override name = 'FeishuApiError';
  constructor(
    readonly code: number,
    msg: string,
    readonly status?: number,
  ) {
    super(`code ${code}: ${msg}`);
  }
}

/** "request trigger frequency limit" */
const RATE_LIMITED = 99991400;

interface HttpFailure {
  status?: number;
  code?: number;
  msg?: string;
  url?: string;
}

/** What an axios error from the SDK says about the answer, if there was one. */
function httpFailure(err: unknown): HttpFailure | undefined {
  if (!(err instanceof Error) || !(err as { isAxiosError?: boolean }).isAxiosError) return undefined;
  const { response, config } = err as { response?: { status?: number; data?: { code?: unknown; msg?: unknown } }; config?: { url?: string } };
  const data = response?.data;
  return {
    status: response?.status,
    code: typeof data?.code === 'number' ? data.code : undefined,
    msg: typeof data?.msg === 'string' ? data.msg : undefined,
    url: config?.url,
  };
}

/** Network errors, rate limits and server errors may pass; anything else the platform said will say it again. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof FeishuApiError) return err.code === RATE_LIMITED || (err.status ?? 0) >= 500;
  const http = httpFailure(err);
  if (!http) return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
  return http.status === undefined || http.status === 429 || http.status >= 500 || http.code === RATE_LIMITED;
}

/** The SDK's token manager throws this text when the token endpoint answers 200 without a token. */
const TOKEN_REFUSED = /failed to get tenant_access_token, code: (\d+), msg: (.*)$/;

/**
 * Why the start-up check failed, as the supervisor needs it: a rejected app id or secret (or any other refusal the
 * platform will repeat) is a PermanentAdapterError; network trouble, rate limits and server errors are retried.
 */
export function startError(err: unknown, redact: (text: string) => string): Error {
  const text = redact(err instanceof Error ? err.message : String(err));
  const refused = TOKEN_REFUSED.exec(text);
  const http = httpFailure(err);
  if (refused || (http?.url?.includes('tenant_access_token') && !isRetryable(err))) {
    const code = refused?.[1] ?? http?.code ?? http?.status;
    const msg = refused?.[2] ?? http?.msg ?? text;
    return new PermanentAdapterError(`Feishu rejected FEISHU_APP_ID / FEISHU_APP_SECRET (code ${code}: ${msg})`);
  }
  if (isRetryable(err)) return new Error(`Feishu bot info request failed: ${text}`);
  const detail = http?.code !== undefined ? `code ${http.code}: ${http.msg ?? ''}` : text;
  return new PermanentAdapterError(`Feishu refused the bot info request (${detail}): is the Bot capability enabled for the app?`);
}

interface BotInfoAnswer {
  code?: number;
  msg?: string;
  bot?: { open_id?: string; app_name?: string };
}

/** The bot's own open_id (to recognise mentions of it); also proves the app id and secret are accepted. */
export async function fetchBotInfo(client: Client, redact: (text: string) => string): Promise<FeishuBot> {
  let answer: BotInfoAnswer;
  try {
    answer = await client.request<BotInfoAnswer>({ method: 'GET', url: '/open-apis/bot/v3/info' });
  } catch (err) {
    throw startError(err, redact);
  }
  if (answer?.code !== 0 || !answer.bot?.open_id) {
    throw startError(new FeishuApiError(answer?.code ?? -1, answer?.msg ?? 'no bot in the answer'), redact);
  }
  return { openId: answer.bot.open_id, name: answer.bot.app_name ?? '' };
}

/** Replies to `messageId` with a text message; returns the new message's id. `uuid` makes a resend within an hour a no-op. */
export async function replyText(client: Client, messageId: string, text: string, uuid: string): Promise<string | undefined> {
  const answer = await client.im.message.reply({
    path: { message_id: messageId },
    data: { msg_type: 'text', content: JSON.stringify({ text }), uuid },
  });
  if (answer.code !== 0) throw new FeishuApiError(answer.code ?? -1, answer.msg ?? 'reply failed');
  return answer.data?.message_id;
}
