/** Pieces both pages share: the page shell, the language switch, the message banner and a ticking clock. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { errorText, initialLang, t } from './i18n';
import type { Lang, TextKey } from './i18n';

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

/** An error as a sentence in `lang`. */
function describe(lang: Lang, err: unknown): string {
  return err instanceof ApiError
    ? errorText(lang, err.code, { s: err.retryAfter ?? 1, detail: err.message })
    : errorText(lang, 'UNKNOWN');
}

/** What a page's content gets from the shell. */
export interface Shell {
  lang: Lang;
  /** Shows the error as a sentence (and hides a notice). */
  onError: (err: unknown) => void;
  /** Shows a notice (and hides an error). */
  onNotice: (text: string) => void;
  clearError: () => void;
}

/**
 * The frame both pages share: the document's language and title, a header with the page title,
 * the language switch and `header` extras, and the message banner above the page's content.
 */
export function PageShell(props: {
  title: TextKey;
  header?: (lang: Lang) => ComponentChildren;
  /** Called with every error before it is shown (e.g. to drop a rejected key). */
  onErrorSeen?: (err: unknown) => void;
  children: (shell: Shell) => ComponentChildren;
}) {
  const { title, onErrorSeen } = props;
  const [lang, setLang] = useState<Lang>(initialLang);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t(lang, title);
  }, [lang, title]);

  const onError = useCallback(
    (err: unknown) => {
      onErrorSeen?.(err);
      setNotice(null);
      setError(describe(lang, err));
    },
    [lang, onErrorSeen],
  );
  const onNotice = useCallback((text: string) => {
    setError(null);
    setNotice(text);
  }, []);
  const clearError = useCallback(() => setError(null), []);

  return (
    <>
      <header>
        <h1>{t(lang, title)}</h1>
        <LangSwitch lang={lang} onChange={setLang} />
        {props.header?.(lang)}
      </header>
      <main>
        <ErrorBanner lang={lang} error={error} notice={notice} onClose={() => (setError(null), setNotice(null))} />
        {props.children({ lang, onError, onNotice, clearError })}
      </main>
    </>
  );
}
