// LogList shows log lines with their level, service and message; a click
// opens the structured fields, and a trace or correlation ID links to the
// trace and to everything else with that ID.
import { useState } from 'preact/hooks';
import type { CorrelatedLog, LokiStream } from '../api';
import { formatTime } from '../time';
import { Link } from './Link';

/** One log line, whatever API it came from. */
export interface LogEntry {
  /** Nanoseconds since the epoch, as a string (too large for a number). */
  ts: string;
  line: string;
  labels: Record<string, string>;
  fields: Record<string, string>;
}

/** fromStreams flattens Loki streams into entries, newest first. */
export function fromStreams(streams: LokiStream[]): LogEntry[] {
  const out: LogEntry[] = [];
  for (const s of streams) {
    for (const [ts, line, meta] of s.values) {
      out.push({ ts, line, labels: s.stream, fields: { ...meta?.structuredMetadata, ...meta?.parsed } });
    }
  }
  return out.sort((a, b) => compareTs(b.ts, a.ts));
}

/** fromCorrelated turns the correlate API's lines into entries. */
export function fromCorrelated(logs: CorrelatedLog[]): LogEntry[] {
  return logs.map((l) => ({
    ts: l.timeUnixNano,
    line: l.body,
    labels: { service_name: l.service },
    fields: {
      ...l.attributes,
      ...(l.level ? { level: l.level } : {}),
      ...(l.traceId ? { trace_id: l.traceId } : {}),
      ...(l.spanId ? { span_id: l.spanId } : {}),
      ...(l.correlationId ? { correlation_id: l.correlationId } : {}),
    },
  }));
}

/** compareTs orders nanosecond timestamps held as decimal strings. */
export function compareTs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function level(e: LogEntry): string {
  return (e.fields.level ?? e.fields.detected_level ?? e.labels.level ?? e.labels.detected_level ?? '').toLowerCase();
}

/** Props of LogList. */
export interface LogListProps {
  entries: LogEntry[];
  /** Hide the service column (when all lines are of one service). */
  hideService?: boolean;
  /** Highlight lines of this span. */
  spanId?: string;
}

/** LogList renders entries as expandable rows. */
export function LogList(p: LogListProps) {
  const [open, setOpen] = useState<Set<number>>(new Set());
  return (
    <div class="log-list" data-testid="log-list">
      {p.entries.map((e, i) => {
        const lv = level(e);
        const isOpen = open.has(i);
        const traceId = e.fields.trace_id;
        const corr = e.fields.correlation_id;
        return (
          <div key={i} class={`log-line ${p.spanId && e.fields.span_id === p.spanId ? 'highlight' : ''}`} data-testid="log-line">
            <div
              class="log-summary"
              onClick={() => {
                const n = new Set(open);
                if (isOpen) n.delete(i);
                else n.add(i);
                setOpen(n);
              }}
            >
              <span class="log-time">{formatTime(Number(BigInt(e.ts) / 1_000_000n))}</span>
              <span class={`level level-${lv || 'unknown'}`}>{lv || '–'}</span>
              {!p.hideService && <span class="log-service">{e.labels.service_name ?? ''}</span>}
              <span class="log-body">{e.line}</span>
              {traceId && (
                <Link to={`/traces/${traceId}`} class="chip" title="Open the trace" testId="log-trace-link">
                  trace
                </Link>
              )}
            </div>
            {isOpen && (
              <div class="log-fields">
                <table>
                  <tbody>
                    {Object.entries(e.labels).map(([k, v]) => (
                      <tr key={`l-${k}`}>
                        <th>{k}</th>
                        <td>{v}</td>
                        <td class="kind">label</td>
                      </tr>
                    ))}
                    {Object.entries(e.fields).map(([k, v]) => (
                      <tr key={`f-${k}`}>
                        <th>{k}</th>
                        <td>
                          {k === 'trace_id' ? (
                            <>
                              <Link to={`/traces/${v}`}>{v}</Link> · <Link to={`/correlate/${v}`}>everything with this ID</Link>
                            </>
                          ) : k === 'correlation_id' ? (
                            <Link to={`/correlate/${encodeURIComponent(v)}`} testId="log-correlation-link">
                              {v}
                            </Link>
                          ) : (
                            v
                          )}
                        </td>
                        <td class="kind">field</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {corr && !traceId && (
                  <Link to={`/correlate/${encodeURIComponent(corr)}`}>Everything with correlation ID {corr}</Link>
                )}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}
