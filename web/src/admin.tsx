/**
 * The operator's page: counts of the line with a live chart, pause/resume, capacity and rate
 * controls, and a user lookup that links into the Temporal Web UI.
 */
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, call } from './api';
import type { AdminUserView, QueueAdminView } from './api';
import { t } from './i18n';
import type { Lang } from './i18n';
import { PageShell } from './ui';

const POLL_MS = 1_000;
const WINDOW_MINUTES = 5;
const WINDOW_SAMPLES = (WINDOW_MINUTES * 60_000) / POLL_MS;

interface Sample {
  at: number;
  waiting: number;
  active: number;
  /** Admissions per second since the previous sample. */
  admitted: number;
}

const meta = (name: string, fallback: string): string =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content || fallback;

/** The Temporal Web UI's list of one user's workflows (entry and holds carry the UserId search attribute). */
function temporalLink(userId: string): string {
  const base = meta('temporal-ui', 'http://localhost:8233').replace(/\/$/, '');
  const ns = meta('temporal-namespace', 'default');
  return `${base}/namespaces/${encodeURIComponent(ns)}/workflows?query=${encodeURIComponent(`UserId="${userId}"`)}`;
}

/**
 * Admissions per second between two samples: the server's admission counter when it sends one;
 * otherwise the drop in waiting users, a lower bound (arrivals in the same second hide some).
 */
function admittedRate(prev: QueueAdminView | null, next: QueueAdminView, seconds: number): number {
  if (!prev || seconds <= 0) return 0;
  if (prev.admittedTotal !== undefined && next.admittedTotal !== undefined) {
    return Math.max(0, next.admittedTotal - prev.admittedTotal) / seconds;
  }
  return Math.max(0, prev.waiting - next.waiting) / seconds;
}

function Chart(props: { lang: Lang; samples: Sample[] }) {
  const { samples } = props;
  const w = 600;
  const h = 160;
  const maxCount = Math.max(1, ...samples.map((s) => Math.max(s.waiting, s.active)));
  const maxRate = Math.max(1, ...samples.map((s) => s.admitted));
  const x = (i: number) => (i / Math.max(1, WINDOW_SAMPLES - 1)) * w;
  const offset = WINDOW_SAMPLES - samples.length;
  const line = (value: (s: Sample) => number, max: number) =>
    samples.map((s, i) => `${x(i + offset).toFixed(1)},${(h - (value(s) / max) * (h - 10)).toFixed(1)}`).join(' ');
  const last = samples[samples.length - 1];
  const label = t(props.lang, 'chartLabel', { m: WINDOW_MINUTES });
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label} preserveAspectRatio="none">
        <rect x="0" y="0" width={w} height={h} class="bg" />
        <polyline points={line((s) => s.waiting, maxCount)} class="waiting" />
        <polyline points={line((s) => s.active, maxCount)} class="active" />
        <polyline points={line((s) => s.admitted, maxRate)} class="admitted" />
      </svg>
      <figcaption>
        {label}:{' '}
        <span class="key waiting">
          {t(props.lang, 'waiting')} ({last?.waiting ?? 0})
        </span>{' '}
        <span class="key active">
          {t(props.lang, 'active')} ({last?.active ?? 0})
        </span>{' '}
        <span class="key admitted">
          {t(props.lang, 'admittedRate')} ({(last?.admitted ?? 0).toFixed(1)}, max {maxRate.toFixed(1)})
        </span>
      </figcaption>
    </figure>
  );
}

function Dashboard(props: {
  lang: Lang;
  adminKey: string;
  onError: (e: unknown) => void;
  onNotice: (s: string) => void;
}) {
  const { lang, adminKey, onError, onNotice } = props;
  const headers = useMemo(() => ({ 'X-Admin-Key': adminKey }), [adminKey]);
  const [view, setView] = useState<QueueAdminView | null>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [maxActive, setMaxActive] = useState('');
  const [rate, setRate] = useState('');
  const [lookupId, setLookupId] = useState('');
  const [found, setFound] = useState<AdminUserView | null>(null);

  useEffect(() => {
    let prev: { view: QueueAdminView; at: number } | null = null;
    let first = true;
    const tick = async () => {
      try {
        const v = await call<QueueAdminView>('/v1/admin/queue', { headers });
        const at = Date.now();
        const admitted = admittedRate(prev?.view ?? null, v, prev ? (at - prev.at) / 1000 : 0);
        prev = { view: v, at };
        setView(v);
        setSamples((s) => [...s, { at, waiting: v.waiting, active: v.active, admitted }].slice(-WINDOW_SAMPLES));
        if (first) {
          setMaxActive(String(v.maxActive));
          setRate(String(v.admitPerSecond));
          first = false;
        }
      } catch (err) {
        onError(err);
      }
    };
    void tick();
    const timer = window.setInterval(() => void tick(), POLL_MS);
    return () => window.clearInterval(timer);
  }, [headers, onError]);

  const patch = useCallback(
    async (body: Partial<QueueAdminView>) => {
      try {
        setView(await call<QueueAdminView>('/v1/admin/queue', { method: 'PATCH', headers, body }));
        onNotice(t(lang, 'saved'));
      } catch (err) {
        onError(err);
      }
    },
    [headers, lang, onError, onNotice],
  );

  const save = (e: Event) => {
    e.preventDefault();
    void patch({ maxActive: Number(maxActive), admitPerSecond: Number(rate) });
  };

  const lookup = async (e: Event) => {
    e.preventDefault();
    setFound(null);
    try {
      setFound(await call<AdminUserView>(`/v1/admin/queue/users/${encodeURIComponent(lookupId.trim())}`, { headers }));
    } catch (err) {
      onError(err);
    }
  };

  return (
    <>
      <section aria-labelledby="line-title" class="card">
        <h2 id="line-title" data-testid="paused" data-paused={view ? String(view.paused) : ''}>
          {view ? (view.paused ? t(lang, 'paused') : t(lang, 'running')) : t(lang, 'loading')}
        </h2>
        <dl class="counts">
          <div>
            <dt>{t(lang, 'waiting')}</dt>
            <dd data-testid="waiting">{view?.waiting ?? '…'}</dd>
          </div>
          <div>
            <dt>{t(lang, 'active')}</dt>
            <dd data-testid="active">{view?.active ?? '…'}</dd>
          </div>
          <div>
            <dt>{t(lang, 'maxActive')}</dt>
            <dd>{view?.maxActive ?? '…'}</dd>
          </div>
          <div>
            <dt>{t(lang, 'admitPerSecond')}</dt>
            <dd>{view?.admitPerSecond ?? '…'}</dd>
          </div>
        </dl>
        <Chart lang={lang} samples={samples} />
        {view && (
          <button type="button" class="primary" onClick={() => void patch({ paused: !view.paused })}>
            {view.paused ? t(lang, 'resume') : t(lang, 'pause')}
          </button>
        )}
        <form onSubmit={save} class="row">
          <label for="max-active">{t(lang, 'maxActive')}</label>
          <input
            id="max-active"
            type="number"
            min={0}
            value={maxActive}
            onInput={(e) => setMaxActive(e.currentTarget.value)}
          />
          <label for="admit-rate">{t(lang, 'admitPerSecond')}</label>
          <input id="admit-rate" type="number" min={0} value={rate} onInput={(e) => setRate(e.currentTarget.value)} />
          <button type="submit">{t(lang, 'save')}</button>
        </form>
      </section>
      <section aria-labelledby="lookup-title" class="card">
        <h2 id="lookup-title">{t(lang, 'lookup')}</h2>
        <form onSubmit={(e) => void lookup(e)} class="row">
          <label for="lookup-user">{t(lang, 'userId')}</label>
          <input id="lookup-user" value={lookupId} onInput={(e) => setLookupId(e.currentTarget.value)} />
          <button type="submit">{t(lang, 'find')}</button>
        </form>
        {found && (
          <>
            <dl class="counts" data-testid="lookup-result">
              <div>
                <dt>{t(lang, 'status')}</dt>
                <dd>{found.status}</dd>
              </div>
              <div>
                <dt>{t(lang, 'position').replace(/[:：].*$/, '')}</dt>
                <dd>{found.position}</dd>
              </div>
              <div>
                <dt>activeUntil</dt>
                <dd>{found.activeUntil ?? t(lang, 'none')}</dd>
              </div>
              <div>
                <dt>{t(lang, 'workflowId')}</dt>
                <dd>{found.workflowId ?? t(lang, 'none')}</dd>
              </div>
            </dl>
            <a href={temporalLink(found.userId)} target="_blank" rel="noopener">
              {t(lang, 'openTemporal')}
            </a>
          </>
        )}
      </section>
    </>
  );
}

function App() {
  const [adminKey, setAdminKey] = useState<string | null>(() => sessionStorage.getItem('adminKey'));
  const [typed, setTyped] = useState('');

  // A wrong key: ask again instead of polling with it.
  const dropRejectedKey = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem('adminKey');
      setAdminKey(null);
    }
  }, []);

  return (
    <PageShell title="adminTitle" onErrorSeen={dropRejectedKey}>
      {({ lang, onError, onNotice, clearError }) =>
        adminKey ? (
          <Dashboard lang={lang} adminKey={adminKey} onError={onError} onNotice={onNotice} />
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              sessionStorage.setItem('adminKey', typed);
              clearError();
              setAdminKey(typed);
            }}
            class="card"
          >
            <label for="admin-key">{t(lang, 'adminKey')}</label>
            <input
              id="admin-key"
              type="password"
              autocomplete="current-password"
              value={typed}
              onInput={(e) => setTyped(e.currentTarget.value)}
            />
            <button type="submit">{t(lang, 'enter')}</button>
          </form>
        )
      }
    </PageShell>
  );
}

render(<App />, document.getElementById('app')!);
