/**
 * The buyer's page: sign in, wait in line (live over SSE), pick seats on a date's map, hold
 * them with a live countdown, charge, pay several holds at once, and see the tickets.
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, followQueueEvents, jwtSubject } from './api';
import type { Concert, ConcertDate, Payment, QueueView, Reservation, Seat } from './api';
import { duration, t, won } from './i18n';
import type { Lang, TextKey } from './i18n';
import { PageShell, useNow } from './ui';

const SEATS = 50;
const MAX_SELECTED = 4;
const SEAT_REFRESH_MS = 2_000;
const POLL_MS = 2_000;

/** Who is signed in: `identity` is the login service's token. */
interface Session {
  identity: string;
  userId: string;
}

interface Hold {
  reservation: Reservation;
  /** Set once the countdown reached zero (the seat is free again). */
  expired: boolean;
}

const store = {
  load<T>(key: string): T | null {
    const raw = sessionStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  },
  save(key: string, value: unknown): void {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  },
};

/** The identity handed over in the URL fragment (`#identity=<token>`) by the login service, once. */
function identityFromFragment(): string | null {
  const match = /(?:^#|&)identity=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(match[1]);
}

function SignIn(props: { lang: Lang; onSession: (s: Session) => void; onError: (e: unknown) => void }) {
  const { lang } = props;
  const [userId, setUserId] = useState('');
  const [pasted, setPasted] = useState('');
  const [busy, setBusy] = useState(false);

  const devSignIn = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const wanted = userId.trim();
      const { identityToken } = await call<{ identityToken: string }>('/v1/dev/identity', {
        method: 'POST',
        body: wanted ? { userId: wanted } : {},
      });
      const sub = jwtSubject(identityToken);
      if (!sub) throw new ApiError(400, 'UNAUTHENTICATED', 'identity token without sub');
      props.onSession({ identity: identityToken, userId: sub });
    } catch (err) {
      props.onError(err);
    } finally {
      setBusy(false);
    }
  };

  const useToken = (e: Event) => {
    e.preventDefault();
    const token = pasted.trim();
    const sub = jwtSubject(token);
    if (!sub) props.onError(new ApiError(401, 'UNAUTHENTICATED', 'not a token'));
    else props.onSession({ identity: token, userId: sub });
  };

  return (
    <section aria-labelledby="signin-title">
      <h2 id="signin-title">{t(lang, 'signIn')}</h2>
      <form onSubmit={(e) => void devSignIn(e)} class="card">
        <h3>{t(lang, 'signInDev')}</h3>
        <label for="dev-user">{t(lang, 'userIdOptional')}</label>
        <input
          id="dev-user"
          name="userId"
          value={userId}
          autocomplete="off"
          onInput={(e) => setUserId(e.currentTarget.value)}
          aria-describedby="dev-help"
        />
        <p id="dev-help" class="hint">
          {t(lang, 'signInHelp')}
        </p>
        <button type="submit" disabled={busy}>
          {t(lang, 'signIn')}
        </button>
      </form>
      <form onSubmit={useToken} class="card">
        <label for="identity-token">{t(lang, 'identityToken')}</label>
        <textarea id="identity-token" rows={2} value={pasted} onInput={(e) => setPasted(e.currentTarget.value)} />
        <button type="submit">{t(lang, 'useToken')}</button>
      </form>
    </section>
  );
}

/**
 * Follows the queue entry: the SSE stream first, polling every 2 s when the stream cannot be
 * opened or breaks. Stops at a terminal status.
 */
function useQueueView(
  token: string | null,
  initial: QueueView | null,
): { view: QueueView | null; live: boolean; setView: (v: QueueView) => void } {
  const [view, setView] = useState<QueueView | null>(initial);
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!token) return;
    const abort = new AbortController();
    let timer: number | undefined;
    let terminal = false;
    const onView = (v: QueueView) => {
      setView(v);
      terminal = v.status === 'EXPIRED' || v.status === 'COMPLETED';
    };
    const poll = async () => {
      try {
        onView(await call<QueueView>('/v1/queue/tokens/current', { bearer: token }));
      } catch {
        // keep the last view; the next poll tries again
      }
      if (!terminal && !abort.signal.aborted) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    followQueueEvents(
      token,
      (v) => {
        setLive(true);
        onView(v);
      },
      abort.signal,
    )
      .catch(() => undefined)
      .finally(() => {
        setLive(false);
        if (!terminal && !abort.signal.aborted) void poll();
      });
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [token]);
  return { view, live, setView };
}

function WaitingRoom(props: { lang: Lang; view: QueueView; live: boolean; firstPosition: number }) {
  const { lang, view, live } = props;
  const first = Math.max(props.firstPosition, view.position, 1);
  const done = first - view.position + 1;
  return (
    <section aria-labelledby="wait-title" class="card">
      <h2 id="wait-title">{t(lang, 'waitingRoom')}</h2>
      <div aria-live="polite" aria-atomic="true" id="queue-status">
        <p class="big" data-testid="position">
          {t(lang, 'position', { n: view.position })}
        </p>
        <p data-testid="estimate">
          {view.estimatedWaitSeconds === null
            ? t(lang, 'noEstimate')
            : t(lang, 'estimate', { t: duration(lang, view.estimatedWaitSeconds) })}
        </p>
      </div>
      <label for="queue-progress">{t(lang, 'progress')}</label>
      <progress id="queue-progress" max={first} value={done} />
      <p class="hint" data-testid="connection">
        {live ? t(lang, 'liveUpdates') : t(lang, 'polling')}
      </p>
    </section>
  );
}

function SeatMap(props: {
  lang: Lang;
  date: string;
  free: Map<number, number> | null;
  mine: Set<number>;
  selected: Set<number>;
  onToggle: (seatNo: number) => void;
}) {
  const { lang, free, mine, selected } = props;
  if (!free) return <p>{t(lang, 'loading')}</p>;
  return (
    <div>
      <h3 id="seatmap-title">{t(lang, 'seatMap', { date: props.date })}</h3>
      <p class="hint">{t(lang, 'selectUpTo', { n: MAX_SELECTED })}</p>
      <ul class="legend" aria-label={t(lang, 'legend')}>
        <li>
          <span class="swatch free" /> {t(lang, 'seatFree')}
        </li>
        <li>
          <span class="swatch selected" /> {t(lang, 'seatSelected')}
        </li>
        <li>
          <span class="swatch mine" /> {t(lang, 'seatMine')}
        </li>
        <li>
          <span class="swatch taken" /> {t(lang, 'seatTaken')}
        </li>
      </ul>
      <div class="seats" role="group" aria-labelledby="seatmap-title">
        {Array.from({ length: SEATS }, (_, i) => {
          const n = i + 1;
          const state = mine.has(n) ? 'mine' : selected.has(n) ? 'selected' : free.has(n) ? 'free' : 'taken';
          const stateText: TextKey =
            state === 'mine'
              ? 'seatMine'
              : state === 'selected'
                ? 'seatSelected'
                : state === 'free'
                  ? 'seatFree'
                  : 'seatTaken';
          return (
            <button
              key={n}
              type="button"
              class={`seat ${state}`}
              data-seat={n}
              data-state={state}
              aria-pressed={state === 'selected'}
              aria-label={`${t(lang, 'seat', { n })}, ${t(lang, stateText)}`}
              disabled={state === 'taken' || state === 'mine'}
              onClick={() => props.onToggle(n)}
            >
              {n}
            </button>
          );
        })}
      </div>
    </div>
  );
}

function HoldRow(props: { lang: Lang; hold: Hold; now: number; onCancel: () => void }) {
  const { lang, hold, now } = props;
  const r = hold.reservation;
  // The clock state may be up to a tick old when a hold first renders: never show more time than is left.
  const left = Math.ceil((Date.parse(r.heldUntil) - Math.max(now, Date.now())) / 1000);
  if (hold.expired) {
    return (
      <li class="expired" data-testid="hold" data-seat={r.seatNo} data-state="expired">
        {t(lang, 'expiredHold', { seat: r.seatNo })}
      </li>
    );
  }
  return (
    <li data-testid="hold" data-seat={r.seatNo} data-state="held">
      <span>{t(lang, 'heldFor', { seat: r.seatNo, date: r.date, price: won(lang, r.price) })}</span>{' '}
      <span class="countdown" role="timer" aria-live="polite" aria-atomic="true" data-testid="countdown">
        {t(lang, 'timeLeft', { t: duration(lang, left) })}
      </span>{' '}
      <button type="button" onClick={props.onCancel} aria-label={t(lang, 'cancelHold', { seat: r.seatNo })}>
        {t(lang, 'cancel')}
      </button>
    </li>
  );
}

function Tickets(props: { lang: Lang; tickets: Reservation[]; titles: Map<string, string> }) {
  const { lang, tickets } = props;
  return (
    <section aria-labelledby="tickets-title" class="card">
      <h2 id="tickets-title">{t(lang, 'myTickets')}</h2>
      {tickets.length === 0 ? (
        <p>{t(lang, 'noTickets')}</p>
      ) : (
        <ul data-testid="tickets">
          {tickets.map((r) => (
            <li key={r.reservationId} data-testid="ticket" data-seat={r.seatNo}>
              {t(lang, 'ticket', { title: props.titles.get(r.concertId) ?? r.concertId, date: r.date, seat: r.seatNo })}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Everything after sign-in: the entry in line and, once ACTIVE, the booking funnel. */
function Booking(props: {
  lang: Lang;
  session: Session;
  onError: (e: unknown) => void;
  onNotice: (s: string) => void;
}) {
  const { lang, session, onError, onNotice } = props;
  const [entry, setEntry] = useState<QueueView | null>(() => store.load<QueueView>('entry'));
  const { view, live, setView } = useQueueView(entry?.token ?? null, entry);
  const [firstPosition, setFirstPosition] = useState(entry?.position ?? 0);
  const [concerts, setConcerts] = useState<Concert[] | null>(null);
  const [concert, setConcert] = useState<Concert | null>(null);
  const [dates, setDates] = useState<ConcertDate[] | null>(null);
  const [date, setDate] = useState<string | null>(null);
  const [free, setFree] = useState<Map<number, number> | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [holds, setHolds] = useState<Hold[]>([]);
  const [balance, setBalance] = useState<number | null>(null);
  const [amount, setAmount] = useState('100000');
  const [tickets, setTickets] = useState<Reservation[]>([]);
  const [busy, setBusy] = useState(false);
  const payKey = useRef<{ ids: string; key: string } | null>(null);
  const now = useNow();
  const token = entry?.token ?? null;
  const status = view?.status ?? null;
  const titles = new Map((concerts ?? []).map((c) => [c.concertId, c.title]));

  const join = useCallback(async () => {
    try {
      const v = await call<QueueView>('/v1/queue/tokens', {
        method: 'POST',
        bearer: session.identity,
        body: { userId: session.userId },
      });
      store.save('entry', v);
      setEntry(v);
      setView(v);
      setFirstPosition(v.position);
    } catch (err) {
      onError(err);
    }
  }, [session, onError, setView]);

  useEffect(() => {
    if (!entry) void join();
  }, [entry, join]);

  const loadTickets = useCallback(async () => {
    try {
      const { reservations } = await call<{ reservations: Reservation[] }>('/v1/me/reservations', {
        bearer: session.identity,
      });
      setTickets(reservations.filter((r) => r.status === 'CONFIRMED'));
    } catch (err) {
      onError(err);
    }
  }, [session, onError]);

  useEffect(() => {
    void loadTickets();
  }, [loadTickets]);

  const loadBalance = useCallback(async () => {
    if (!token || (status !== 'WAITING' && status !== 'ACTIVE')) return;
    try {
      const b = await call<{ balance: number }>(`/v1/users/${session.userId}/balance`, { bearer: token });
      setBalance(b.balance);
    } catch {
      // shown again on the next refresh
    }
  }, [token, status, session.userId]);

  useEffect(() => {
    void loadBalance();
  }, [loadBalance]);

  /** A funnel call; a TOKEN_NOT_ACTIVE answer refreshes the entry so the page follows it. */
  const funnel = useCallback(
    async <T,>(path: string, opts: Parameters<typeof call>[1] = {}): Promise<T> => {
      try {
        return await call<T>(path, { ...opts, bearer: token ?? undefined });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'TOKEN_NOT_ACTIVE' && token) {
          call<QueueView>('/v1/queue/tokens/current', { bearer: token }).then(setView, () => undefined);
        }
        throw err;
      }
    },
    [token, setView],
  );

  useEffect(() => {
    if (status !== 'ACTIVE' || concerts) return;
    funnel<{ concerts: Concert[] }>('/v1/concerts').then((r) => setConcerts(r.concerts), onError);
  }, [status, concerts, funnel, onError]);

  const loadSeats = useCallback(async () => {
    if (!concert || !date || status !== 'ACTIVE') return;
    try {
      const r = await funnel<{ seats: Seat[] }>(`/v1/concerts/${concert.concertId}/dates/${date}/seats`);
      const map = new Map(r.seats.map((s) => [s.seatNo, s.price]));
      setFree(map);
      // A selected seat someone else took meanwhile is no longer selectable.
      setSelected((sel) => new Set([...sel].filter((n) => map.has(n))));
    } catch (err) {
      onError(err);
    }
  }, [concert, date, status, funnel, onError]);

  useEffect(() => {
    setFree(null);
    void loadSeats();
    const timer = window.setInterval(() => void loadSeats(), SEAT_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [loadSeats]);

  // A hold whose time ran out is shown as expired and its seat goes back to the map.
  useEffect(() => {
    if (holds.some((h) => !h.expired && Date.parse(h.reservation.heldUntil) <= now)) {
      setHolds((hs) => hs.map((h) => (Date.parse(h.reservation.heldUntil) <= now ? { ...h, expired: true } : h)));
      void loadSeats();
    }
  }, [now, holds, loadSeats]);

  const chooseConcert = async (c: Concert) => {
    setConcert(c);
    setDate(null);
    setDates(null);
    try {
      const r = await funnel<{ dates: ConcertDate[] }>(`/v1/concerts/${c.concertId}/dates`);
      setDates(r.dates);
    } catch (err) {
      onError(err);
    }
  };

  const toggle = (n: number) => {
    setSelected((sel) => {
      const next = new Set(sel);
      if (next.has(n)) next.delete(n);
      else if (next.size < MAX_SELECTED) next.add(n);
      else onError(new ApiError(409, 'HOLD_LIMIT_REACHED', 'selection limit'));
      return next;
    });
  };

  const holdSelected = async () => {
    if (!concert || !date) return;
    setBusy(true);
    const seats = [...selected].sort((a, b) => a - b);
    const results = await Promise.allSettled(
      seats.map((seatNo) =>
        funnel<Reservation>('/v1/reservations', {
          method: 'POST',
          body: { concertId: concert.concertId, date, seatNo },
        }),
      ),
    );
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [{ reservation: r.value, expired: false }] : []));
    setHolds((hs) => [...hs.filter((h) => !h.expired), ...made]);
    setSelected(new Set());
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) onError(failed.reason);
    await loadSeats();
    setBusy(false);
  };

  const cancel = async (hold: Hold) => {
    try {
      await funnel(`/v1/reservations/${hold.reservation.reservationId}`, { method: 'DELETE' });
    } catch (err) {
      onError(err);
    }
    setHolds((hs) => hs.filter((h) => h !== hold));
    await loadSeats();
  };

  const charge = async (e: Event) => {
    e.preventDefault();
    if (!token) return;
    try {
      const r = await call<{ balance: number }>(`/v1/users/${session.userId}/balance/charge`, {
        method: 'POST',
        bearer: token,
        body: { amount: Number(amount) },
        headers: { 'Idempotency-Key': crypto.randomUUID() },
      });
      setBalance(r.balance);
      onNotice(t(lang, 'charged', { amount: won(lang, r.balance) }));
    } catch (err) {
      onError(err);
    }
  };

  const live_ = holds.filter((h) => !h.expired);
  const total = live_.reduce((sum, h) => sum + h.reservation.price, 0);

  const pay = async () => {
    const ids = live_.map((h) => h.reservation.reservationId);
    if (ids.length === 0) return;
    // The same set of holds keeps its key, so a retry after a lost answer cannot pay twice.
    const idsKey = ids.join(',');
    if (payKey.current?.ids !== idsKey) payKey.current = { ids: idsKey, key: crypto.randomUUID() };
    setBusy(true);
    try {
      const p = await funnel<Payment>('/v1/payments', {
        method: 'POST',
        body: ids.length === 1 ? { reservationId: ids[0] } : { reservationIds: ids },
        headers: { 'Idempotency-Key': payKey.current.key },
      });
      setBalance(p.balance);
      onNotice(t(lang, 'paid', { amount: won(lang, p.amount) }));
      const paid = live_.map((h) => ({ ...h.reservation, status: 'CONFIRMED' as const }));
      setTickets((ts) => [...paid, ...ts.filter((x) => !ids.includes(x.reservationId))]);
      setHolds([]);
      await loadTickets();
      if (token) call<QueueView>('/v1/queue/tokens/current', { bearer: token }).then(setView, () => undefined);
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  const again = () => {
    store.save('entry', null);
    setEntry(null);
    setHolds([]);
    setConcerts(null);
    setConcert(null);
    setDate(null);
  };

  const mine = new Set(
    live_
      .filter((h) => concert && h.reservation.concertId === concert.concertId && h.reservation.date === date)
      .map((h) => h.reservation.seatNo),
  );

  return (
    <>
      {!view && <p>{t(lang, 'loading')}</p>}
      {view && (
        <p class="status" data-testid="status" data-status={view.status}>
          {t(lang, `status${view.status}` as TextKey)}
          {view.status === 'ACTIVE' && view.activeUntil && (
            <> · {t(lang, 'activeUntil', { time: new Date(view.activeUntil).toLocaleTimeString(lang) })}</>
          )}
        </p>
      )}
      {view?.status === 'WAITING' && <WaitingRoom lang={lang} view={view} live={live} firstPosition={firstPosition} />}
      {(view?.status === 'EXPIRED' || view?.status === 'COMPLETED') && (
        <button type="button" onClick={again}>
          {t(lang, 'queueAgain')}
        </button>
      )}
      {(status === 'WAITING' || status === 'ACTIVE') && (
        <section aria-labelledby="balance-title" class="card">
          <h2 id="balance-title" data-testid="balance">
            {balance === null ? t(lang, 'loading') : t(lang, 'balance', { amount: won(lang, balance) })}
          </h2>
          <form onSubmit={(e) => void charge(e)} class="row">
            <label for="charge-amount">{t(lang, 'chargeAmount')}</label>
            <input
              id="charge-amount"
              type="number"
              min={1}
              step={1}
              value={amount}
              onInput={(e) => setAmount(e.currentTarget.value)}
            />
            <button type="submit">{t(lang, 'charge')}</button>
          </form>
        </section>
      )}
      {status === 'ACTIVE' && (
        <section aria-labelledby="concerts-title" class="card">
          <h2 id="concerts-title">{t(lang, 'concerts')}</h2>
          {!concerts && <p>{t(lang, 'loading')}</p>}
          <ul class="choices">
            {concerts?.map((c) => (
              <li key={c.concertId}>
                <button
                  type="button"
                  aria-pressed={concert?.concertId === c.concertId}
                  onClick={() => void chooseConcert(c)}
                >
                  {c.title}
                </button>
              </li>
            ))}
          </ul>
          {concert && dates && (
            <>
              <h3>{t(lang, 'chooseDate')}</h3>
              <ul class="choices">
                {dates.map((d) => (
                  <li key={d.date}>
                    <button
                      type="button"
                      data-date={d.date}
                      aria-pressed={date === d.date}
                      onClick={() => {
                        setSelected(new Set());
                        setDate(d.date);
                      }}
                    >
                      {d.date} ({t(lang, 'seatsFree', { n: d.availableSeats })})
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
          {concert && date && (
            <>
              <SeatMap lang={lang} date={date} free={free} mine={mine} selected={selected} onToggle={toggle} />
              <button type="button" disabled={busy || selected.size === 0} onClick={() => void holdSelected()}>
                {t(lang, 'holdSelected', { n: selected.size })}
              </button>
            </>
          )}
        </section>
      )}
      {(status === 'ACTIVE' || holds.length > 0) && (
        <section aria-labelledby="holds-title" class="card">
          <h2 id="holds-title">{t(lang, 'myHolds')}</h2>
          {holds.length === 0 ? (
            <p>{t(lang, 'noHolds')}</p>
          ) : (
            <ul data-testid="holds">
              {holds.map((h) => (
                <HoldRow
                  key={h.reservation.reservationId}
                  lang={lang}
                  hold={h}
                  now={now}
                  onCancel={() => void cancel(h)}
                />
              ))}
            </ul>
          )}
          {live_.length > 0 && (
            <button type="button" class="primary" disabled={busy} onClick={() => void pay()}>
              {t(lang, 'payAll', { n: live_.length, amount: won(lang, total) })}
            </button>
          )}
        </section>
      )}
      <Tickets lang={lang} tickets={tickets} titles={titles} />
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const fromFragment = identityFromFragment();
    if (fromFragment) {
      const sub = jwtSubject(fromFragment);
      if (sub) {
        const s = { identity: fromFragment, userId: sub };
        store.save('session', s);
        store.save('entry', null);
        return s;
      }
    }
    return store.load<Session>('session');
  });

  const signIn = (s: Session) => {
    store.save('session', s);
    store.save('entry', null);
    setSession(s);
  };
  const signOut = () => {
    store.save('session', null);
    store.save('entry', null);
    setSession(null);
  };

  return (
    <PageShell
      title="appTitle"
      header={(lang) =>
        session && (
          <p class="who">
            {t(lang, 'signedInAs', { user: session.userId })}{' '}
            <button type="button" onClick={signOut}>
              {t(lang, 'signOut')}
            </button>
          </p>
        )
      }
    >
      {({ lang, onError, onNotice, clearError }) =>
        session ? (
          <Booking key={session.userId} lang={lang} session={session} onError={onError} onNotice={onNotice} />
        ) : (
          <SignIn
            lang={lang}
            onSession={(s) => {
              clearError();
              signIn(s);
            }}
            onError={onError}
          />
        )
      }
    </PageShell>
  );
}

render(<App />, document.getElementById('app')!);
