// The Studio's language: i18next with the German and English catalogues (de.ts, en.ts; every
// visible string comes from them), the reader's choice kept in localStorage, and Intl formats
// for the same language (format.ts). See studio/README.md, "Languages".
import "dayjs/locale/de";
import "dayjs/locale/en-gb";
import dayjs from "dayjs";
import i18next from "i18next";
import { useMemo } from "react";
import { initReactI18next, useTranslation } from "react-i18next";
import { de } from "./de";
import { en } from "./en";
import { type Format, makeFormat } from "./format";
import {
  browserLanguage,
  isLanguage,
  type Language,
  PSEUDO_CLOSE,
  PSEUDO_OPEN,
  type UiLanguage,
} from "./languages";

export { LANGUAGES, type Language, type UiLanguage } from "./languages";

declare module "i18next" {
  interface CustomTypeOptions {
    resources: { translation: typeof en };
    returnNull: false;
  }
}

/** Where the chosen language is remembered (per browser). */
export const LANGUAGE_STORAGE_KEY = "partitur.language";

type Tree = { [key: string]: string | Tree };

function pseudo(tree: Tree): Tree {
  return Object.fromEntries(
    Object.entries(tree).map(([key, value]) => [
      key,
      typeof value === "string" ? `${PSEUDO_OPEN}${value}${PSEUDO_CLOSE}` : pseudo(value),
    ]),
  );
}

function preferredLanguages(): readonly string[] {
  return typeof navigator === "undefined" ? [] : navigator.languages;
}

/** The language to start with: the one chosen before, else the browser's (de or en). */
export function startLanguage(): UiLanguage {
  const stored = globalThis.localStorage?.getItem(LANGUAGE_STORAGE_KEY);
  if (stored === "pseudo" || isLanguage(stored)) return stored;
  return browserLanguage(preferredLanguages());
}

function applyToDocument(language: UiLanguage): void {
  const base = language === "pseudo" ? "en" : language;
  document.documentElement.lang = base;
  dayjs.locale(base === "de" ? "de" : "en-gb");
}

/** Every key asked for that a catalogue does not have, in the order first asked for. It is
 * also ``window.__partiturMissingKeys``, which the browser tests read: a page that shows a key
 * instead of words fails them. */
export const missingKeys: string[] = [];

function recordMissing(_languages: readonly string[], _namespace: string, key: string): void {
  if (!missingKeys.includes(key)) missingKeys.push(key);
}

export async function initI18n(language: UiLanguage = startLanguage()): Promise<void> {
  (globalThis as { __partiturMissingKeys?: string[] }).__partiturMissingKeys = missingKeys;
  await i18next.use(initReactI18next).init({
    resources: {
      de: { translation: de },
      en: { translation: en },
      pseudo: { translation: pseudo(en as Tree) },
    },
    lng: language,
    // no fallback: a key missing in one catalogue shows as the key, and the tests catch it
    fallbackLng: false,
    interpolation: { escapeValue: false },
    returnNull: false,
    saveMissing: true,
    missingKeyHandler: recordMissing,
  });
  applyToDocument(language);
}

/** Switch the language now and remember it for the next visit. */
export async function changeLanguage(language: Language): Promise<void> {
  globalThis.localStorage?.setItem(LANGUAGE_STORAGE_KEY, language);
  await i18next.changeLanguage(language);
  applyToDocument(language);
}

export function useLanguage(): UiLanguage {
  const { i18n } = useTranslation();
  return i18n.language as UiLanguage;
}

/** Intl formats in the current language (numbers, money, dates, durations). */
export function useFormat(): Format {
  const language = useLanguage();
  return useMemo(() => makeFormat(language, preferredLanguages()), [language]);
}
