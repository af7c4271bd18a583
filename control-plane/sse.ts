/**
 * A server-sent-events reader (the WHATWG event-stream format), shared by tenantctl and the web
 * console: both read the stream with fetch rather than EventSource, which cannot send an
 * Authorization header (and a credential must never go in a URL). Pure: no Node or DOM APIs.
 */

/** One event of GET /v1/events/stream, as its `data` line carries it (workflows/event-tap.ts). */
export interface StreamEventRecord {
  readonly id: string;
  readonly type: string;
  /** A tenant's events; a rollout's (`rollout.*`) carry `rolloutId` instead. */
  readonly tenantId?: string;
  readonly operationId?: string;
  readonly rolloutId?: string;
  readonly time: string;
  readonly data: Record<string, unknown>;
}

export interface SseMessage {
  readonly event: string;
  readonly data: string;
  readonly id?: string | undefined;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last id seen: what a reconnect sends as Last-Event-ID. */
  lastEventId: string | undefined;
  /** Comment lines seen (heartbeats). */
  comments = 0;

  /** Feeds a chunk of text; answers the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let nl = this.buffer.search(/\r\n|\r|\n/);
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + width);
      const message = this.line(line);
      if (message) out.push(message);
      nl = this.buffer.search(/\r\n|\r|\n/);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const message: SseMessage = {
        event: this.event || 'message',
        data: this.data.join('\n'),
        ...(this.id !== undefined ? { id: this.id } : {}),
      };
      if (this.id !== undefined) this.lastEventId = this.id;
      this.data = [];
      this.event = '';
      this.id = undefined;
      return message;
    }
    if (line.startsWith(':')) {
      this.comments += 1;
      return undefined;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return undefined;
  }
}

/** Reads a fetch Response body as server-sent events until it ends; breaking out closes it. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  parser: SseParser = new SseParser(),
): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
