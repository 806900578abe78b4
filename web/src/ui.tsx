/** Pieces both pages share: the language switch, the message banner and a ticking clock. */
import { useEffect, useState } from 'preact/hooks';
import { t } from './i18n';
import type { Lang } from './i18n';

/** The current time, refreshed every `everyMs` (countdowns). */
export function useNow(everyMs = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function LangSwitch(props: { lang: Lang; onChange: (lang: Lang) => void }) {
  const choose = (lang: Lang) => {
    localStorage.setItem('lang', lang);
    props.onChange(lang);
  };
  return (
    <div role="group" aria-label={t(props.lang, 'language')} class="lang">
      <button type="button" lang="ko" aria-pressed={props.lang === 'ko'} onClick={() => choose('ko')}>
        한국어
      </button>
      <button type="button" lang="en" aria-pressed={props.lang === 'en'} onClick={() => choose('en')}>
        English
      </button>
    </div>
  );
}

/** Errors as sentences (role=alert, announced at once) and notices (role=status). */
export function ErrorBanner(props: { lang: Lang; error: string | null; notice: string | null; onClose: () => void }) {
  const { error, notice } = props;
  return (
    <>
      <div role="alert" class={error ? 'banner error' : 'banner'} data-testid="error">
        {error && (
          <>
            <span>{error}</span>{' '}
            <button type="button" onClick={props.onClose}>
              {t(props.lang, 'close')}
            </button>
          </>
        )}
      </div>
      <div role="status" class={notice ? 'banner notice' : 'banner'} data-testid="notice">
        {notice}
      </div>
    </>
  );
}
