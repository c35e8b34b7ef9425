/**
 * The transports of push-notify: an ntfy-style HTTP push (POST of the text to
 * a topic URL, the title and priority in headers) and Telegram's Bot API
 * (sendMessage). Plain HTTPS requests through Node's fetch with a 10 s
 * timeout, so no extra package; an error names the service and the HTTP
 * status but never the token, which Telegram puts in the URL path.
 */
import type { Severity } from '../detect/alert';

export interface PushSettings {
  service: 'off' | 'ntfy' | 'telegram';
  url: string;
  token: string;
  chat: string;
}

export interface PushMessage {
  title: string;
  text: string;
  severity: Severity;
  /** True for the digest of collapsed repeats. */
  digest?: boolean;
}

const TIMEOUT_MS = 10_000;
const TELEGRAM_API = 'https://api.telegram.org';
/** Telegram refuses messages longer than 4096 characters. */
const TELEGRAM_MAX = 4096;

/** Header values must be Latin-1 without line breaks: anything else becomes '?'. */
function headerText(s: string): string {
  return s.replace(/[^\x20-\x7e\xa0-\xff]/g, '?').slice(0, 250);
}

async function post(what: string, url: string, init: { headers: Record<string, string>; body: string }): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${what}: request failed (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
  if (!res.ok) {
    const body = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
    throw new Error(`${what}: HTTP ${res.status}${body ? ` ${body}` : ''}`);
  }
  await res.arrayBuffer().catch(() => undefined);
}

/** Push `m` through the configured service; throws with the reason (never the token). */
export async function pushMessage(s: PushSettings, m: PushMessage): Promise<void> {
  if (s.service === 'ntfy') {
    if (!s.url) throw new Error('ntfy: no topic URL configured');
    const headers: Record<string, string> = {
      'Content-Type': 'text/plain; charset=utf-8',
      Title: headerText(m.title),
      Priority: m.severity === 'high' && !m.digest ? 'high' : 'default',
      Tags: m.digest ? 'package' : 'warning',
    };
    if (s.token) headers.Authorization = `Bearer ${s.token}`;
    return post('ntfy', s.url, { headers, body: m.text });
  }
  if (s.service === 'telegram') {
    if (!s.token || !s.chat) throw new Error('telegram: a bot token and a chat id are needed');
    const base = (s.url || TELEGRAM_API).replace(/\/+$/, '');
    const text = `${m.title}\n${m.text}`.slice(0, TELEGRAM_MAX);
    return post('telegram', `${base}/bot${s.token}/sendMessage`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ chat_id: s.chat, text, disable_web_page_preview: true }),
    });
  }
}
