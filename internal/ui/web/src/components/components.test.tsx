import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { useState } from 'preact/hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { APIError } from '../api';
import { LogList, fromStreams } from './LogList';
import { Panel } from './Panel';
import { QueryEditor, caretLine } from './QueryEditor';

afterEach(cleanup);

describe('Panel', () => {
  it('shows its error in place of its content', () => {
    render(
      <Panel title="Latency" error={new Error('query engine overloaded')}>
        <p>chart</p>
      </Panel>,
    );
    expect(screen.getByRole('alert').textContent).toBe('query engine overloaded');
    expect(screen.queryByText('chart')).toBeNull();
  });

  it('keeps a rendering error of its children inside itself', () => {
    const Broken = () => {
      throw new Error('bad data');
    };
    vi.spyOn(console, 'error').mockImplementation(() => {});
    render(
      <div>
        <Panel title="A">
          <Broken />
        </Panel>
        <Panel title="B">fine</Panel>
      </div>,
    );
    expect(screen.getByRole('alert').textContent).toContain('bad data');
    expect(screen.getByText('fine')).toBeTruthy();
  });
});

describe('QueryEditor', () => {
  it('marks the place a parse error names and runs on Enter', () => {
    const run = vi.fn();
    const q = 'sum(rate(up[5m])';
    render(<QueryEditor value={q} onChange={() => {}} onRun={run} error={new APIError('1:17: parse error: unclosed left parenthesis', 400, 16)} />);
    expect(screen.getByRole('alert').textContent).toContain('unclosed left parenthesis');
    expect(document.querySelector('.query-caret')!.textContent).toBe(`${q}\n${' '.repeat(16)}^`);
    fireEvent.keyDown(screen.getByRole('textbox'), { key: 'Enter' });
    expect(run).toHaveBeenCalledWith(q);
  });

  it('puts an accepted completion and the cursor in the box at once', async () => {
    // Keys typed right after a completion is picked must follow it, even
    // before the next frame is drawn.
    function Editor() {
      const [v, setV] = useState('');
      return <QueryEditor value={v} onChange={setV} onRun={() => {}} complete={async (t) => ({ from: 0, items: t ? ['traces_span_metrics_duration_seconds'] : [] })} />;
    }
    render(<Editor />);
    const box = screen.getByRole('textbox') as HTMLTextAreaElement;
    box.value = 'traces_sp + up';
    box.selectionStart = box.selectionEnd = 'traces_sp'.length;
    fireEvent.input(box);
    fireEvent.mouseDown(await screen.findByRole('option'));
    expect(box.value).toBe('traces_span_metrics_duration_seconds + up');
    expect(box.selectionStart).toBe('traces_span_metrics_duration_seconds'.length);
  });

  it('draws the caret under the right line of a multi-line query', () => {
    expect(caretLine('a +\nbc', 5)).toBe('bc\n ^');
  });
});

describe('LogList', () => {
  it('orders lines newest first and opens their fields with links by ID', () => {
    const entries = fromStreams([
      {
        stream: { service_name: 'inventory' },
        values: [
          ['1700000000000000000', 'older', { structuredMetadata: { level: 'info' } }],
          ['1700000001000000000', 'newer', { structuredMetadata: { level: 'error', trace_id: 'abc123', correlation_id: 'req-7' } }],
        ],
      },
    ]);
    render(<LogList entries={entries} />);
    const lines = screen.getAllByTestId('log-line');
    expect(lines[0].textContent).toContain('newer');
    expect(lines[0].querySelector('.level-error')).toBeTruthy();
    expect(screen.getByTestId('log-trace-link').getAttribute('href')).toBe('/traces/abc123');
    fireEvent.click(lines[0].querySelector('.log-summary')!);
    expect(screen.getByTestId('log-correlation-link').getAttribute('href')).toBe('/correlate/req-7');
  });
});
