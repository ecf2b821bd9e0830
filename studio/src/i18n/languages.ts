// The languages of the Studio. German and English are what people choose; "pseudo" is for the
// tests: every catalogue string appears wrapped in ⟦ ⟧ (and every formatted text with words),
// so a browser test finds any visible text that did not come from the catalogue.

export const LANGUAGES = ["de", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
export type UiLanguage = Language | "pseudo";

export const PSEUDO_OPEN = "⟦";
export const PSEUDO_CLOSE = "⟧";

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

/** In the pseudo language, text with letters is marked as coming from the catalogue. */
export function pseudoWrap(language: UiLanguage, text: string): string {
  return language === "pseudo" && /\p{L}/u.test(text)
    ? `${PSEUDO_OPEN}${text}${PSEUDO_CLOSE}`
    : text;
}

/** The language a browser prefers among ours (German for any de-*, else English). */
export function browserLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split("-")[0];
    if (isLanguage(base)) return base;
  }
  return "en";
}
