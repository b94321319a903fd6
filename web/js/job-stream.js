/**
 * Follows one training job's event log over Server-Sent Events. The browser's EventSource reconnects
 * by itself after a dropped connection and sends Last-Event-ID, so reactor resumes after the last event
 * we saw: no point is lost or drawn twice. The stream is closed here after the terminal event, because
 * reactor ends it there and EventSource would otherwise reconnect forever.
 */
import { getToken } from './auth.js';

const EVENTS = ['queued', 'status', 'checkpoint', 'completed', 'failed', 'cancelled'];
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/**
 * @typedef {{event: string, data: Record<string, any>}} JobEvent
 */

export class JobStream {
  /**
   * @param {string} jobId
   * @param {(e: JobEvent) => void} onEvent
   * @param {(state: 'live' | 'reconnecting' | 'ended' | 'refused') => void} onState
   */
  constructor(jobId, onEvent, onState) {
    const token = getToken();
    const url = `api/training/stream/${encodeURIComponent(jobId)}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    this.source = new EventSource(url);
    this.ended = false;
    this.source.onopen = () => onState('live');
    this.source.onerror = () => {
      if (this.ended) return;
      // CLOSED: reactor refused the stream (401, 404) and EventSource gives up; CONNECTING: it retries.
      if (this.source.readyState === EventSource.CLOSED) {
        this.ended = true;
        onState('refused');
      } else onState('reconnecting');
    };
    for (const name of EVENTS) {
      this.source.addEventListener(name, (ev) => {
        const data = JSON.parse(/** @type {MessageEvent<string>} */ (ev).data);
        onEvent({ event: name, data });
        if (TERMINAL.has(name)) {
          this.close();
          onState('ended');
        }
      });
    }
  }

  close() {
    this.ended = true;
    this.source.close();
  }
}
