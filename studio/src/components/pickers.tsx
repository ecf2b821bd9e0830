// Pickers fed by the API: events the workspace received, segments, templates of a channel,
// offers and journeys are chosen by name, never typed as ids. Shared by the journey canvas and
// the rule builder (and the segment builder that reuses it).
import { Autocomplete, Select } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import {
  eventNamesQuery,
  journeysQuery,
  offersQuery,
  segmentsQuery,
  templatesQuery,
} from "@/api/queries";

interface PickerProps {
  label: string;
  value: string | null | undefined;
  onChange: (value: string) => void;
  error?: string | undefined;
  description?: string | undefined;
  required?: boolean;
  disabled?: boolean;
  "data-field"?: string;
}

/** An event name: the names the workspace received (most frequent first); a name not seen
 * yet may be typed, since a journey can wait for an event that has not happened. */
export function EventPicker({ label, value, onChange, error, description, ...rest }: PickerProps) {
  const { t } = useTranslation();
  const names = useQuery(eventNamesQuery);
  return (
    <Autocomplete
      label={label}
      description={description}
      placeholder={t("pickers.eventPlaceholder")}
      value={value ?? ""}
      onChange={onChange}
      error={error}
      data={(names.data ?? []).map((n) => n.name)}
      limit={50}
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}

/** A segment, by its name. */
export function SegmentPicker({
  label,
  value,
  onChange,
  error,
  description,
  ...rest
}: PickerProps) {
  const { t } = useTranslation();
  const segments = useQuery(segmentsQuery);
  const data = useMemo(() => {
    const known = (segments.data ?? []).map((s) => ({ value: s.key, label: s.name }));
    // a segment the document names that no longer exists still shows (and validation says so)
    if (value && !known.some((s) => s.value === value)) known.push({ value, label: value });
    return known;
  }, [segments.data, value]);
  return (
    <Select
      label={label}
      description={description}
      placeholder={segments.isPending ? t("states.loading") : t("pickers.segmentPlaceholder")}
      nothingFoundMessage={t("pickers.noSegments")}
      value={value || null}
      onChange={(next) => onChange(next ?? "")}
      error={error}
      data={data}
      searchable
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}

/** A message template of ``channel`` (its key, with the subject of one of its languages). */
export function TemplatePicker({
  channel,
  label,
  value,
  onChange,
  error,
  description,
  ...rest
}: PickerProps & { channel: string }) {
  const { t } = useTranslation();
  const templates = useQuery(templatesQuery);
  const data = useMemo(() => {
    const byKey = new Map<string, string>();
    for (const template of templates.data ?? []) {
      if (template.kind !== "message") continue;
      if (template.channel && template.channel !== channel) continue;
      const subject = template.subject ? ` — ${template.subject}` : "";
      if (!byKey.has(template.key) || template.locale === "en") {
        byKey.set(template.key, `${template.key}${subject}`);
      }
    }
    if (value && !byKey.has(value)) byKey.set(value, value);
    return [...byKey].sort().map(([key, text]) => ({ value: key, label: text }));
  }, [templates.data, channel, value]);
  return (
    <Select
      label={label}
      description={description}
      placeholder={templates.isPending ? t("states.loading") : t("pickers.templatePlaceholder")}
      nothingFoundMessage={t("pickers.noTemplates")}
      value={value || null}
      onChange={(next) => onChange(next ?? "")}
      error={error}
      data={data}
      searchable
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}

/** An offer of the decisioning catalogue. */
export function OfferPicker({ label, value, onChange, error, description, ...rest }: PickerProps) {
  const { t } = useTranslation();
  const offers = useQuery(offersQuery);
  const data = useMemo(() => {
    const known = (offers.data ?? []).map((o) => ({ value: o.key, label: o.name }));
    if (value && !known.some((o) => o.value === value)) known.push({ value, label: value });
    return known;
  }, [offers.data, value]);
  return (
    <Select
      label={label}
      description={description}
      placeholder={t("pickers.offerPlaceholder")}
      nothingFoundMessage={t("pickers.noOffers")}
      value={value || null}
      onChange={(next) => onChange(next ?? "")}
      error={error}
      data={data}
      searchable
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}

/** A placement of the decisioning catalogue (where an offer is shown); new ones may be typed. */
export function PlacementPicker({
  label,
  value,
  onChange,
  error,
  description,
  ...rest
}: PickerProps) {
  const offers = useQuery(offersQuery);
  const data = useMemo(
    () => [...new Set((offers.data ?? []).flatMap((o) => o.placements ?? []))].sort(),
    [offers.data],
  );
  return (
    <Autocomplete
      label={label}
      description={description}
      value={value ?? ""}
      onChange={onChange}
      error={error}
      data={data}
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}

/** Another journey of the workspace, by its name. */
export function JourneyPicker({
  label,
  value,
  onChange,
  error,
  description,
  exclude,
  ...rest
}: PickerProps & { exclude?: string }) {
  const { t } = useTranslation();
  const journeys = useQuery(journeysQuery);
  const data = useMemo(
    () =>
      (journeys.data ?? [])
        .filter((j) => j.key !== exclude)
        .map((j) => ({ value: j.key, label: j.name })),
    [journeys.data, exclude],
  );
  return (
    <Select
      label={label}
      description={description}
      placeholder={t("pickers.journeyPlaceholder")}
      value={value || null}
      onChange={(next) => onChange(next ?? "")}
      error={error}
      data={data}
      searchable
      required={rest.required}
      disabled={rest.disabled}
      data-field={rest["data-field"]}
    />
  );
}
