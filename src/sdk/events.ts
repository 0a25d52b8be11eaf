// Server-Sent Events as the SDK reads them (GET /tasks/:id/events): the frames of a response body, parsed
// as the HTML standard says (fields `id`, `event`, `data`, `retry`; `:` starts a comment; a blank line ends
// a frame). Needs only the global fetch's ReadableStream and TextDecoder.

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
  retry?: number;
}

/** The frames of an event stream, as they arrive. Cancels the body when the caller stops early. */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let frame: { id?: string; event?: string; data: string[]; retry?: number } = { data: [] };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // The last piece may be a line still arriving; a \r at the end is held back (its \n may follow).
      const held = buffer.endsWith('\r') ? '\r' : '';
      const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = (lines.pop() ?? '') + held;
      for (const line of lines) {
        if (line === '') {
          if (frame.data.length > 0 || frame.retry !== undefined) {
            yield {
              ...(frame.id !== undefined ? { id: frame.id } : {}),
              ...(frame.event !== undefined ? { event: frame.event } : {}),
              ...(frame.retry !== undefined ? { retry: frame.retry } : {}),
              data: frame.data.join('\n'),
            };
          }
          frame = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') frame.data.push(value);
        else if (field === 'event') frame.event = value;
        else if (field === 'id' && !value.includes('\0')) frame.id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
