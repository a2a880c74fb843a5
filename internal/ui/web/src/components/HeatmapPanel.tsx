// HeatmapPanel runs a PromQL range query over histograms (native, or
// classic buckets by le) and draws it as a heatmap, with the exemplars of
// its series in their buckets if asked.
import { prom } from '../api';
import type { Range } from '../time';
import { useAsync } from './async';
import { fromClassic, fromNative, Heatmap } from './Heatmap';
import { Panel } from './Panel';
import { exemplarPoints, openTrace } from './PromChart';

/** Props of HeatmapPanel. */
export interface HeatmapPanelProps {
  title: string;
  expr: string;
  range: Range;
  step: number;
  formatBound?: (v: number) => string;
  height?: number;
  testId?: string;
  /** Draw the exemplars of expr's series in their buckets, each opening its trace. */
  exemplars?: boolean;
}

/** HeatmapPanel renders a panel with the heatmap of expr over range. */
export function HeatmapPanel(p: HeatmapPanelProps) {
  const state = useAsync(
    async (s) => {
      const r = await prom.queryRange(p.expr, p.range.start, p.range.end, p.step, s);
      if (!r.length) return null;
      const d = fromNative(r) ?? fromClassic(r);
      if (!d) throw new Error('Not a histogram: a heatmap needs native histograms, or classic buckets with their le label (for example sum by (le) (rate(x_bucket[5m]))).');
      return { data: d, points: p.exemplars ? await exemplarPoints(p.expr, p.range, s) : [] };
    },
    [p.expr, p.range, p.step, p.exemplars],
  );
  return (
    <Panel title={p.title} loading={state.loading} error={state.error} testId={p.testId} empty={state.data === null && 'No data in this time range.'}>
      {state.data && (
        <Heatmap
          data={state.data.data}
          points={state.data.points}
          onPointClick={openTrace}
          formatBound={p.formatBound}
          height={p.height}
          xRange={[p.range.start / 1000, p.range.end / 1000]}
        />
      )}
    </Panel>
  );
}
