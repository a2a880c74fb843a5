// Table cells shared by every table of RED numbers.
import type { REDRow } from '../red';
import { formatPercent, formatSeconds } from '../red';

/** An error ratio above this is shown as bad. */
const badErrorRatio = 0.05;

/** ErrorCell shows a row's error ratio, marked when it is high. */
export function ErrorCell({ row }: { row: REDRow }) {
  return <td class={`num ${row.errorRate > badErrorRatio ? 'bad' : ''}`}>{formatPercent(row.errorRate)}</td>;
}

/** LatencyHeaders are the column headers of LatencyCells. */
export function LatencyHeaders() {
  return (
    <>
      <th class="num">p50</th>
      <th class="num">p95</th>
      <th class="num">p99</th>
    </>
  );
}

/** LatencyCells show a row's latency quantiles. */
export function LatencyCells({ row }: { row: REDRow }) {
  return (
    <>
      <td class="num">{formatSeconds(row.p50)}</td>
      <td class="num">{formatSeconds(row.p95)}</td>
      <td class="num">{formatSeconds(row.p99)}</td>
    </>
  );
}
