/** Korean and English text of both pages; the language follows navigator.language until the user switches. */
export type Lang = 'ko' | 'en';

const en = {
  appTitle: 'Concert tickets',
  adminTitle: 'Waiting line: operator',
  language: 'Language',
  signIn: 'Sign in',
  signInDev: 'Development sign-in',
  signInHelp: 'Leave the user id empty to start as a new user.',
  userIdOptional: 'User id (optional)',
  identityToken: 'Identity token from the login service',
  useToken: 'Use this token',
  signOut: 'Sign out',
  signedInAs: 'Signed in as {user}',
  joinLine: 'Join the line',
  waitingRoom: 'Waiting room',
  statusWAITING: 'You are in line',
  statusACTIVE: 'It is your turn: you may book',
  statusEXPIRED: 'Your turn has ended',
  statusCOMPLETED: 'You have paid: this turn is used up',
  position: 'Your place in line: {n}',
  estimate: 'Estimated wait: {t}',
  noEstimate: 'Waiting, no estimate right now (the line may be paused)',
  progress: 'Progress in line',
  liveUpdates: 'Live updates',
  polling: 'Checking every 2 seconds',
  queueAgain: 'Join the line again',
  activeUntil: 'You may book until {time}',
  concerts: 'Concerts',
  dates: 'Dates',
  chooseDate: 'Choose a date',
  seatsFree: '{n} seats free',
  seatMap: 'Seats on {date}',
  seat: 'Seat {n}',
  seatFree: 'free',
  seatTaken: 'taken',
  seatMine: 'held by you',
  seatSelected: 'selected',
  legend: 'Legend',
  selectUpTo: 'Select up to {n} seats, then hold them.',
  holdSelected: 'Hold {n} selected seats',
  myHolds: 'Your holds',
  noHolds: 'No seats held.',
  heldFor: 'Seat {seat} on {date}: {price} won',
  timeLeft: '{t} left',
  expiredHold: 'Seat {seat}: the hold has expired and the seat is free again.',
  cancel: 'Cancel',
  cancelHold: 'Cancel the hold on seat {seat}',
  balance: 'Balance: {amount} won',
  chargeAmount: 'Amount to charge (won)',
  charge: 'Charge',
  charged: 'Your balance is now {amount} won.',
  payAll: 'Pay {n} seats ({amount} won)',
  paid: 'Paid {amount} won. Enjoy the concert!',
  myTickets: 'My tickets',
  noTickets: 'No tickets yet.',
  ticket: '{title} · {date} · seat {seat}',
  refresh: 'Refresh',
  loading: 'Loading…',
  back: 'Back',
  close: 'Dismiss',
  minutesSeconds: '{m} min {s} s',
  seconds: '{s} s',
  adminKey: 'Admin key',
  enter: 'Enter',
  waiting: 'Waiting',
  active: 'Active',
  maxActive: 'Most admitted at once',
  admitPerSecond: 'Admitted per second',
  admittedRate: 'Admissions per second (estimated)',
  paused: 'The line is paused',
  running: 'The line is moving',
  pause: 'Pause the line',
  resume: 'Resume the line',
  save: 'Save',
  saved: 'Saved.',
  chartLabel: 'Waiting, active and admissions over the last {m} minutes',
  lookup: 'Look up a user',
  userId: 'User id',
  find: 'Find',
  workflowId: 'Workflow',
  openTemporal: 'Open this user’s workflows in the Temporal Web UI',
  status: 'Status',
  none: '—',
};

type Dict = Record<keyof typeof en, string>;

const ko: Dict = {
  appTitle: '콘서트 예매',
  adminTitle: '대기열 운영',
  language: '언어',
  signIn: '로그인',
  signInDev: '개발용 로그인',
  signInHelp: '사용자 ID를 비워 두면 새 사용자로 시작합니다.',
  userIdOptional: '사용자 ID (선택)',
  identityToken: '로그인 서비스의 신원 토큰',
  useToken: '이 토큰 사용',
  signOut: '로그아웃',
  signedInAs: '{user} 님으로 로그인됨',
  joinLine: '대기열 입장',
  waitingRoom: '대기실',
  statusWAITING: '대기 중입니다',
  statusACTIVE: '입장 차례입니다: 예매할 수 있습니다',
  statusEXPIRED: '입장 시간이 끝났습니다',
  statusCOMPLETED: '결제를 마쳐 이번 입장은 끝났습니다',
  position: '내 대기 순번: {n}',
  estimate: '예상 대기 시간: {t}',
  noEstimate: '대기 중, 지금은 예상 시간을 알 수 없습니다 (대기열이 멈췄을 수 있습니다)',
  progress: '대기 진행률',
  liveUpdates: '실시간 갱신',
  polling: '2초마다 확인',
  queueAgain: '다시 대기열 입장',
  activeUntil: '{time}까지 예매할 수 있습니다',
  concerts: '공연',
  dates: '날짜',
  chooseDate: '날짜 선택',
  seatsFree: '남은 좌석 {n}',
  seatMap: '{date} 좌석',
  seat: '{n}번 좌석',
  seatFree: '예매 가능',
  seatTaken: '예매 불가',
  seatMine: '내 선점',
  seatSelected: '선택됨',
  legend: '범례',
  selectUpTo: '좌석을 최대 {n}개 고른 뒤 선점하세요.',
  holdSelected: '선택한 좌석 {n}개 선점',
  myHolds: '내 선점 좌석',
  noHolds: '선점한 좌석이 없습니다.',
  heldFor: '{date} {seat}번 좌석: {price}원',
  timeLeft: '남은 시간 {t}',
  expiredHold: '{seat}번 좌석: 선점 시간이 지나 좌석이 풀렸습니다.',
  cancel: '취소',
  cancelHold: '{seat}번 좌석 선점 취소',
  balance: '잔액: {amount}원',
  chargeAmount: '충전 금액 (원)',
  charge: '충전',
  charged: '잔액이 {amount}원이 되었습니다.',
  payAll: '{n}석 결제 ({amount}원)',
  paid: '{amount}원을 결제했습니다. 즐거운 공연 되세요!',
  myTickets: '내 티켓',
  noTickets: '아직 티켓이 없습니다.',
  ticket: '{title} · {date} · {seat}번 좌석',
  refresh: '새로 고침',
  loading: '불러오는 중…',
  back: '뒤로',
  close: '닫기',
  minutesSeconds: '{m}분 {s}초',
  seconds: '{s}초',
  adminKey: '관리자 키',
  enter: '들어가기',
  waiting: '대기',
  active: '입장',
  maxActive: '동시 입장 최대 인원',
  admitPerSecond: '초당 입장 인원',
  admittedRate: '초당 입장 (추정)',
  paused: '대기열이 멈췄습니다',
  running: '대기열이 움직이고 있습니다',
  pause: '대기열 멈춤',
  resume: '대기열 재개',
  save: '저장',
  saved: '저장했습니다.',
  chartLabel: '최근 {m}분 동안의 대기, 입장 인원과 초당 입장',
  lookup: '사용자 조회',
  userId: '사용자 ID',
  find: '조회',
  workflowId: '워크플로',
  openTemporal: 'Temporal Web UI에서 이 사용자의 워크플로 보기',
  status: '상태',
  none: '—',
};

export type TextKey = keyof typeof en;

const errorsEn: Record<string, string> = {
  SEAT_UNAVAILABLE: 'Sorry, that seat was just taken by someone else. Please choose another seat.',
  HOLD_LIMIT_REACHED: 'You already hold as many seats as allowed. Pay for or cancel a hold first.',
  INSUFFICIENT_BALANCE: 'Your balance is too low for this payment. Charge your balance and try again.',
  TOKEN_NOT_ACTIVE: 'Your turn is not active (it has not started yet, or it has ended).',
  RATE_LIMITED: 'Too many attempts. Please wait {s} seconds and try again.',
  SALES_CLOSED: 'Sales for this performance are closed.',
  RESERVATION_NOT_HELD: 'This hold is no longer active (it expired, was cancelled or is already paid).',
  RESERVATION_NOT_FOUND: 'This reservation could not be found.',
  CONCERT_NOT_FOUND: 'This concert could not be found.',
  DATE_NOT_FOUND: 'This date could not be found.',
  ENTRY_NOT_FOUND: 'This user is not in the line right now.',
  BALANCE_LIMIT_EXCEEDED: 'That charge would take your balance over the limit.',
  UNAUTHENTICATED: 'Please sign in again: your sign-in is missing or has expired.',
  UNAUTHORIZED: 'Your session is not valid any more. Please sign in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  VALIDATION_FAILED: 'Please check what you entered: {detail}',
  SERVICE_UNAVAILABLE: 'The service is busy right now. Please try again in a moment.',
  NETWORK: 'The service could not be reached. Check your connection and try again.',
  UNKNOWN: 'Something went wrong. Please try again.',
};
const errorsKo: Record<string, string> = {
  SEAT_UNAVAILABLE: '방금 다른 분이 선점한 좌석입니다. 다른 좌석을 골라 주세요.',
  HOLD_LIMIT_REACHED: '선점할 수 있는 좌석 수를 모두 채웠습니다. 먼저 결제하거나 선점을 취소해 주세요.',
  INSUFFICIENT_BALANCE: '잔액이 부족합니다. 충전한 뒤 다시 시도해 주세요.',
  TOKEN_NOT_ACTIVE: '지금은 예매할 수 있는 차례가 아닙니다 (아직 시작되지 않았거나 끝났습니다).',
  RATE_LIMITED: '요청이 너무 많습니다. {s}초 뒤에 다시 시도해 주세요.',
  SALES_CLOSED: '이 공연의 판매가 끝났습니다.',
  RESERVATION_NOT_HELD: '이 선점은 더 이상 유효하지 않습니다 (만료, 취소 또는 결제 완료).',
  RESERVATION_NOT_FOUND: '예약을 찾을 수 없습니다.',
  CONCERT_NOT_FOUND: '공연을 찾을 수 없습니다.',
  DATE_NOT_FOUND: '날짜를 찾을 수 없습니다.',
  ENTRY_NOT_FOUND: '이 사용자는 지금 대기열에 없습니다.',
  BALANCE_LIMIT_EXCEEDED: '충전하면 잔액 한도를 넘습니다.',
  UNAUTHENTICATED: '로그인이 없거나 만료되었습니다. 다시 로그인해 주세요.',
  UNAUTHORIZED: '세션이 더 이상 유효하지 않습니다. 다시 로그인해 주세요.',
  FORBIDDEN: '허용되지 않은 요청입니다.',
  VALIDATION_FAILED: '입력한 값을 확인해 주세요: {detail}',
  SERVICE_UNAVAILABLE: '지금은 서비스가 바쁩니다. 잠시 뒤 다시 시도해 주세요.',
  NETWORK: '서비스에 연결할 수 없습니다. 연결을 확인하고 다시 시도해 주세요.',
  UNKNOWN: '문제가 생겼습니다. 다시 시도해 주세요.',
};

const dicts: Record<Lang, Dict> = { en, ko };
const errorDicts: Record<Lang, Record<string, string>> = { en: errorsEn, ko: errorsKo };

const fill = (text: string, vars: Record<string, string | number>): string =>
  text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ''));

/** The text of `key` in `lang`, with `{name}` placeholders filled from `vars`. */
export function t(lang: Lang, key: TextKey, vars: Record<string, string | number> = {}): string {
  return fill(dicts[lang][key], vars);
}

/** A sentence for an API error code (never the raw body). */
export function errorText(lang: Lang, code: string, vars: Record<string, string | number> = {}): string {
  const table = errorDicts[lang];
  return fill(table[code] ?? table.UNKNOWN ?? '', { s: 1, detail: '', ...vars });
}

/** A wait or a countdown as "m min s s" / "m분 s초". */
export function duration(lang: Lang, totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  return s >= 60 ? t(lang, 'minutesSeconds', { m: Math.floor(s / 60), s: s % 60 }) : t(lang, 'seconds', { s });
}

/** The initial language: a saved choice, else Korean for a Korean browser, else English. */
export function initialLang(): Lang {
  const saved = localStorage.getItem('lang');
  if (saved === 'ko' || saved === 'en') return saved;
  return navigator.language.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export const won = (lang: Lang, amount: number): string => amount.toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-US');
