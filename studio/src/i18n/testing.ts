// For unit tests: a translator and formats of one language, without React or a browser.
import { createInstance, type TFunction } from "i18next";
import { de } from "./de";
import { en } from "./en";
import { type Format, makeFormat } from "./format";
import type { Language } from "./languages";

export async function translator(language: Language): Promise<{ t: TFunction; fmt: Format }> {
  const i18n = createInstance();
  await i18n.init({
    resources: { de: { translation: de }, en: { translation: en } },
    lng: language,
    fallbackLng: false,
    interpolation: { escapeValue: false },
  });
  return { t: i18n.t, fmt: makeFormat(language, [language === "de" ? "de-DE" : "en-GB"]) };
}
