// The overview's charts (Recharts): sync requests over time, what the pushed changes became, and
// failures. Each is a labelled figure with a one-line text summary for screen readers.
import { useId } from 'react';
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { Activity } from '../types.js';

const colors = {
  syncs: '#4f46e5',
  pulled: '#0ea5e9',
  applied: '#16a34a',
  duplicates: '#94a3b8',
  conflicts: '#f59e0b',
  rejected: '#dc2626',
  failedSyncs: '#9333ea',
};

function tickLabel(bucket: Activity['bucket']) {
  const format = new Intl.DateTimeFormat(
    undefined,
    bucket === 'hour' ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric' },
  );
  return (iso: string) => format.format(new Date(iso));
}

function tooltipLabel(bucket: Activity['bucket']) {
  const format = new Intl.DateTimeFormat(
    undefined,
    bucket === 'hour'
      ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
      : { weekday: 'short', month: 'short', day: 'numeric' },
  );
  return (iso: unknown) => (typeof iso === 'string' ? format.format(new Date(iso)) : '');
}

function Figure({
  title,
  summary,
  children,
}: {
  title: string;
  summary: string;
  children: React.ReactElement;
}) {
  const id = useId();
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      <p className="sr-only">{summary}</p>
      <div className="chart-area">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

const axis = { stroke: '#94a3b8', fontSize: 12, tickLine: false } as const;

export function ActivityCharts({ activity }: { activity: Activity }) {
  const data = activity.series;
  const x = {
    dataKey: 'start',
    tickFormatter: tickLabel(activity.bucket),
    minTickGap: 24,
    ...axis,
  } as const;
  const y = { allowDecimals: false, width: 36, ...axis } as const;
  const tooltip = { labelFormatter: tooltipLabel(activity.bucket) };
  const span = activity.bucket === 'hour' ? 'per hour' : 'per day';
  const t = activity.totals;
  return (
    <div className="charts">
      <Figure
        title={`Sync requests ${span}`}
        summary={`${t.syncs} sync requests, ${t.pulled} changes pulled.`}
      >
        <AreaChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
          <XAxis {...x} />
          <YAxis {...y} />
          <Tooltip {...tooltip} />
          <Legend iconType="circle" wrapperStyle={{ fontSize: 12 }} />
          <Area
            type="monotone"
            dataKey="syncs"
            name="Syncs"
            stroke={colors.syncs}
            fill={colors.syncs}
            fillOpacity={0.15}
            strokeWidth={2}
            isAnimationActive={false}
          />
          <Area
            type="monotone"
            dataKey="pulled"
            name="Changes pulled"
            stroke={colors.pulled}
            fill={colors.pulled}
            fillOpacity={0.08}
            strokeWidth={2}
            isAnimationActive={false}
          />
        </AreaChart>
      </Figure>
      <Figure
        title={`Changes pushed ${span}`}
        summary={`${t.applied} applied, ${t.duplicates} duplicates, ${t.conflicts} conflicts, ${t.rejected} rejected.`}
      >
        <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
          <XAxis {...x} />
          <YAxis {...y} />
          <Tooltip {...tooltip} />
          <Legend iconType="circle" wrapperStyle={{ fontSize: 12 }} />
          <Bar
            dataKey="applied"
            name="Applied"
            stackId="c"
            fill={colors.applied}
            isAnimationActive={false}
          />
          <Bar
            dataKey="duplicates"
            name="Duplicates"
            stackId="c"
            fill={colors.duplicates}
            isAnimationActive={false}
          />
          <Bar
            dataKey="conflicts"
            name="Conflicts"
            stackId="c"
            fill={colors.conflicts}
            isAnimationActive={false}
          />
          <Bar
            dataKey="rejected"
            name="Rejected"
            stackId="c"
            fill={colors.rejected}
            isAnimationActive={false}
          />
        </BarChart>
      </Figure>
      <Figure
        title={`Failures ${span}`}
        summary={`${t.rejected} changes rejected, ${t.failedSyncs} syncs with failures.`}
      >
        <LineChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
          <XAxis {...x} />
          <YAxis {...y} />
          <Tooltip {...tooltip} />
          <Legend iconType="circle" wrapperStyle={{ fontSize: 12 }} />
          <Line
            type="monotone"
            dataKey="rejected"
            name="Rejected changes"
            stroke={colors.rejected}
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
          />
          <Line
            type="monotone"
            dataKey="failedSyncs"
            name="Syncs with failures"
            stroke={colors.failedSyncs}
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
          />
        </LineChart>
      </Figure>
    </div>
  );
}
