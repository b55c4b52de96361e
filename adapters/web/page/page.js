// The 夸夸群 playground. Every piece of user or bot text goes through textContent, never innerHTML.
const $ = (id) => document.getElementById(id);
const messages = $('messages');
const input = $('input');
const send = $('send');

// getRandomValues works on plain-http LAN addresses too, where randomUUID (secure contexts only) does not.
const newId = () => `web-${Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
const userId = localStorage.getItem('kuakua-user') || newId();
localStorage.setItem('kuakua-user', userId);
let token = sessionStorage.getItem('kuakua-token') || '';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scrollDown() {
  messages.scrollTop = messages.scrollHeight;
}

// White text reads on each at 4.5:1 or more (WCAG AA), so a member's avatar character does too.
const AVATAR_COLOURS = ['#4d7c0f', '#b91c1c', '#a21caf', '#6d28d9', '#1d4ed8', '#0e7490', '#047857', '#a16207', '#be185d', '#c2410c'];

/** A member's colour: the same for a name on every visit (FNV-1a over its code points). */
function colourOf(name) {
  let hash = 0x811c9dc5;
  for (const ch of name) hash = Math.imul(hash ^ ch.codePointAt(0), 16777619) >>> 0;
  return AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
}

const ME = { name: '我', avatar: '我' };
// Who shows as typing while the request is open: the group, not yet one member.
const GROUP = { name: '夸夸群', avatar: '群' };

function avatar(voice, mine) {
  const node = el('div', 'avatar', voice.avatar);
  node.setAttribute('aria-hidden', 'true');
  if (!mine) node.style.background = colourOf(voice.name);
  return node;
}

/**
 * A message row: the avatar and, above the bubble, the member's name (the asker's own for screen readers only, the
 * group's typing row none). A pending row is hidden from screen readers: the log reads out the message replacing it.
 */
function addMessage(voice, text, { mine = false, pending = false } = {}) {
  const row = el('div', `msg ${mine ? 'me' : 'bot'}${pending ? ' pending' : ''}`);
  row.dataset.name = voice.name;
  row.append(avatar(voice, mine));
  const body = el('div', 'body');
  if (voice !== GROUP) body.append(el('div', mine ? 'name sr-only' : 'name', voice.name));
  body.append(el('div', pending ? 'bubble pending' : 'bubble', text));
  row.append(body);
  if (pending) row.setAttribute('aria-hidden', 'true');
  messages.append(row);
  scrollDown();
  return row;
}

function addSystem(text, isError) {
  messages.append(el('div', isError ? 'system error' : 'system', text));
  scrollDown();
}

/** The title bar's line under the group's name: who is typing, or nothing. */
function setTyping(text) {
  const line = $('typing');
  line.hidden = !text;
  if (text) line.textContent = text;
}

// Between the replies of a chorus: each member types this long before their bubble shows.
const REVEAL_MS = 400;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The replies one after another, as the members of a group answer. */
async function reveal(replies) {
  for (const { text, voice } of replies) {
    setTyping(`${voice.name} 正在输入…`);
    const pending = addMessage(voice, '…', { pending: true });
    await sleep(REVEAL_MS);
    pending.remove();
    addMessage(voice, text);
  }
}

async function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { ...init, headers });
}

// The API's errors in the page's language; the English message stays in the API for scripts.
function errorLine(code, res) {
  const wait = Number(res.headers.get('retry-after')) || 0;
  const later = wait ? `请 ${wait} 秒后再试` : '请稍后再试';
  switch (code) {
    case 'rate_limited':
      return `发得太快了，${later}。`;
    case 'cooldown':
      return `刚刚夸过你啦，${later}。`;
    case 'busy':
      return `夸夸的人太多了，${later}。`;
    case 'no_reply':
      return `暂时没有人回复，${later}。`;
    case 'unavailable':
      return `服务暂时不可用，${later}。`;
    case 'ignored':
      return '这条消息没有触发夸夸（这里的夸夸可能被管理员关掉了）。';
    case 'invalid_request':
    case 'invalid_json':
      return '这条消息发不出去：内容不能为空，也不能太长。';
    case 'payload_too_large':
      return '消息太长了，请删短一些再发。';
    default:
      return `请求失败（${res.status}），${later}。`;
  }
}

async function praise(text) {
  addMessage(ME, text, { mine: true });
  const pending = addMessage(GROUP, '…', { pending: true });
  setTyping('大家正在输入…');
  send.disabled = true;
  try {
    const res = await api('/api/praise', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, userId, chatId: userId }),
    });
    const data = await res.json().catch(() => ({}));
    pending.remove();
    if (res.status === 401) {
      $('auth').hidden = false;
      addSystem('需要 API token 才能发送。', true);
    } else if (Array.isArray(data.replies)) {
      await reveal(data.replies);
    } else {
      addSystem(errorLine(data.error, res), true);
    }
  } catch (err) {
    pending.remove();
    addSystem(`网络错误：${err.message}`, true);
  } finally {
    setTyping('');
    send.disabled = false;
    input.focus();
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value;
  if (!text.trim() || send.disabled) return;
  input.value = '';
  praise(text);
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

// An example fills the composer for the user to edit or send; it does not send.
for (const chip of document.querySelectorAll('#examples .chip')) {
  chip.addEventListener('click', () => {
    input.value = chip.textContent;
    input.focus();
  });
}

$('auth').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('kuakua-token', token);
  $('auth').hidden = true;
  addSystem('已保存 token，请重新发送。');
  poll();
});

function drawQr(rows) {
  const canvas = $('login-qr');
  const ctx = canvas.getContext('2d');
  const quiet = 4;
  const cell = Math.floor(canvas.width / (rows.length + quiet * 2));
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#000';
  rows.forEach((row, r) => {
    for (let c = 0; c < row.length; c++) {
      if (row[c] === '1') ctx.fillRect((c + quiet) * cell, (r + quiet) * cell, cell, cell);
    }
  });
}

async function pollLogin() {
  try {
    const res = await api('/api/login');
    const { wechat } = res.ok ? await res.json() : { wechat: null };
    const scanning = wechat && wechat.status === 'scan' && Array.isArray(wechat.qr);
    $('login').hidden = !scanning;
    if (scanning) drawQr(wechat.qr);
  } catch {
    // The server is restarting; try again on the next tick.
  }
}

// For the operator: no worker, no Redis, platforms that are not running; from /healthz, which tells them only to
// KUAKUA_OPERATOR_TOKEN (entered with the ··· button) and everyone else just whether the bot is ready.
function adapterLine(name, s) {
  if (s.state === 'retrying') {
    if (s.nextTryAt === undefined) return `${name}：连接失败（${s.lastError}），正在重试…`;
    const seconds = Math.max(0, Math.ceil((s.nextTryAt - Date.now()) / 1000));
    return `${name}：连接失败（${s.lastError}），${seconds} 秒后重试`;
  }
  if (s.state === 'failed') return `${name}：已停止（${s.lastError}）`;
  if (s.state === 'starting') return `${name}：启动中…`;
  return '';
}

/** Shows the status lines; true when the answer was the operator's (with details). */
async function pollHealth() {
  try {
    const health = await (await api('/healthz')).json();
    const operator = health.adapters !== undefined;
    const lines = Object.entries(health.adapters || {})
      .map(([name, s]) => adapterLine(name, s))
      .filter(Boolean);
    if (health.redis === false) lines.unshift(`Redis 无法连接（redis unreachable: ${health.redisAt}），暂时无法回复`);
    else if (health.workers === 0) lines.unshift('没有在线的 worker（no worker online），暂时不能生成新的夸奖');
    else if (!operator && health.ok === false) lines.unshift('夸夸机器人还没有准备好（not ready），暂时不能生成新的夸奖');
    const box = $('status');
    box.replaceChildren(...lines.map((line) => el('div', 'status-line', line)));
    box.hidden = lines.length === 0;
    return operator;
  } catch {
    // The server is restarting; try again on the next tick.
    return false;
  }
}

// The WeChat login QR is the operator's too: asked for only with the operator token.
async function poll() {
  if (await pollHealth()) await pollLogin();
  else $('login').hidden = true;
}

$('more').addEventListener('click', () => {
  $('auth').hidden = !$('auth').hidden;
  if (!$('auth').hidden) $('token').focus();
});

poll();
setInterval(poll, 3000);
