import type { Client } from '@larksuiteoapi/node-sdk';
import { FeishuApiError } from './api.ts';

interface MembersAnswer {
  code?: number;
  msg?: string;
  data?: { items?: { member_id?: string }[]; has_more?: boolean; page_token?: string };
}

/** Pages of a chat's member list read at most, 100 members each. */
const MAX_PAGES = 20;

/**
 * Whether a user (by open_id) is a member of a chat, from the chat's member list (`im:chat.members:read`). The list
 * holds people only: a bot is never found in it.
 */
export async function isChatMember(client: Client, chatId: string, openId: string): Promise<boolean> {
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await client.request<MembersAnswer>({
      method: 'GET',
      url: `/open-apis/im/v1/chats/${encodeURIComponent(chatId)}/members`,
      params: { member_id_type: 'open_id', page_size: 100, ...(pageToken && { page_token: pageToken }) },
    });
    if (answer.code) throw new FeishuApiError(answer.code, answer.msg ?? '');
    if (answer.data?.items?.some((m) => m.member_id === openId)) return true;
    if (!answer.data?.has_more || !answer.data.page_token) return false;
    pageToken = answer.data.page_token;
  }
  return false;
}
