// The journey's settings, shown when the entry is selected: its name, how people enter (an
// event, a segment, an audience or by hand, with an optional condition), who may enter again,
// how fast, what counts as the goal, what ends an instance at once, and the category.
import {
  Button,
  Divider,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useTranslation } from "react-i18next";
import { DurationInput } from "@/components/DurationInput";
import { EventPicker, SegmentPicker } from "@/components/pickers";
import { RuleBuilder, type RuleDoc } from "@/components/rules/RuleBuilder";
import type { Definition, Entry, Problem } from "./document";
import { type PropertyFilter, PropertyFilters } from "./fields";
import { fieldError, outputLabel, problemsOf, problemText } from "./problems";

interface EntryFormProps {
  doc: Definition;
  problems: Problem[];
  editable: boolean;
  /** A journey not saved yet may still change its key. */
  isNew: boolean;
  onChange: (doc: Definition) => void;
}

export function EntryForm({ doc, problems, editable, isNew, onChange }: EntryFormProps) {
  const { t } = useTranslation();
  const err = (field: string) => fieldError(problems, null, field, t, doc);
  const set = (patch: Partial<Definition>) => onChange({ ...doc, ...patch });
  const entry = doc.entry;
  const setEntry = (patch: Record<string, unknown>) =>
    set({ entry: { ...entry, ...patch } as Entry });
  const general = problemsOf(problems, null).filter(
    (p) => p.field === undefined || p.field === "start" || p.field === "nodes",
  );
  const reEntry = doc.re_entry ?? { policy: "never" };
  return (
    <Stack gap="sm" data-entry-form>
      <Title order={2} fz="md">
        {t("canvas.settings.title")}
      </Title>
      {general.map((p) => (
        <Text key={`${p.code}-${p.field ?? ""}`} size="sm" c="red.8" role="alert">
          {problemText(p, t, doc)}
        </Text>
      ))}
      <fieldset disabled={!editable} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
        <Stack gap="sm">
          <TextInput
            label={t("canvas.settings.name")}
            value={doc.name}
            onChange={(event) => set({ name: event.currentTarget.value })}
            error={err("name")}
            required
            data-field="name"
          />
          <TextInput
            label={t("canvas.settings.key")}
            description={isNew ? t("canvas.settings.keyHint") : t("canvas.settings.keyFixed")}
            value={doc.key}
            readOnly={!isNew}
            onChange={(event) => set({ key: event.currentTarget.value })}
            error={err("key")}
            data-field="key"
          />
          <Textarea
            label={t("canvas.settings.description")}
            value={doc.description ?? ""}
            autosize
            minRows={2}
            onChange={(event) => set({ description: event.currentTarget.value })}
          />
          <Select
            label={t("canvas.settings.category")}
            description={t("canvas.settings.categoryHint")}
            value={doc.category ?? "marketing"}
            allowDeselect={false}
            data={[
              { value: "marketing", label: t("category.marketing") },
              { value: "transactional", label: t("category.transactional") },
            ]}
            onChange={(category) =>
              category && set({ category: category as Definition["category"] })
            }
          />

          <Divider label={t("canvas.settings.entry")} labelPosition="left" />
          <Select
            label={t("canvas.settings.entryKind")}
            value={entry.type ?? "event"}
            allowDeselect={false}
            onChange={(kind) => {
              if (!kind || kind === entry.type) return;
              const condition = entry.condition ?? undefined;
              const made: Record<string, Record<string, unknown>> = {
                event: { type: "event", event: "", where: [] },
                segment: { type: "segment", segment: "", change: "entered" },
                audience: { type: "audience", segment: "" },
                manual: { type: "manual" },
              };
              set({ entry: { ...made[kind], condition } as Entry });
            }}
            data={(["event", "segment", "audience", "manual"] as const).map((k) => ({
              value: k,
              label: t(`canvas.settings.entryKinds.${k}`),
            }))}
            data-field="entry-kind"
          />
          <Text size="xs" c="dimmed">
            {t(`canvas.settings.entryHelp.${entry.type ?? "event"}`)}
          </Text>
          {entry.type === "event" && (
            <>
              <EventPicker
                label={t("canvas.settings.entryEvent")}
                value={entry.event}
                onChange={(event) => setEntry({ event })}
                error={err("entry.event")}
                required
                data-field="entry.event"
              />
              <PropertyFilters
                label={t("canvas.form.onlyWhen")}
                value={entry.where as PropertyFilter[]}
                onChange={(where) => setEntry({ where })}
                error={err("entry.where")}
              />
            </>
          )}
          {(entry.type === "segment" || entry.type === "audience") && (
            <SegmentPicker
              label={t("canvas.settings.segment")}
              value={entry.segment}
              onChange={(segment) => setEntry({ segment })}
              error={err("entry.segment")}
              required
              data-field="entry.segment"
            />
          )}
          {entry.type === "segment" && (
            <Select
              label={t("canvas.settings.segmentChange")}
              value={entry.change ?? "entered"}
              allowDeselect={false}
              data={[
                { value: "entered", label: t("canvas.settings.segmentEntered") },
                { value: "exited", label: t("canvas.settings.segmentExited") },
              ]}
              onChange={(change) => change && setEntry({ change })}
            />
          )}
          {entry.type === "audience" && (
            <DurationInput
              label={t("canvas.settings.every")}
              description={t("canvas.settings.everyHint")}
              value={entry.every ?? null}
              defaultUnit="week"
              onChange={(every) => setEntry({ every: every ?? undefined })}
              error={err("entry.every")}
            />
          )}
          <Text size="sm" fw={500}>
            {t("canvas.settings.condition")}
          </Text>
          <RuleBuilder
            label={t("canvas.settings.condition")}
            value={(entry.condition as RuleDoc | null) ?? null}
            onChange={(condition) => setEntry({ condition: condition ?? undefined })}
            error={err("entry.condition")}
            optional
          />
          <Select
            label={t("canvas.form.leadsTo", { output: outputLabel(undefined, "start", t) })}
            placeholder={t("canvas.form.nowhere")}
            value={doc.nodes.some((n) => n.id === doc.start) ? doc.start : null}
            data={doc.nodes.map((n) => ({
              value: n.id,
              label: n.label ? `${n.label} (${n.id})` : n.id,
            }))}
            onChange={(start) => set({ start: start ?? "" })}
            error={err("start")}
            data-field="start"
          />

          <Divider label={t("canvas.settings.reEntry")} labelPosition="left" />
          <Select
            label={t("canvas.settings.reEntryPolicy")}
            value={reEntry.policy ?? "never"}
            allowDeselect={false}
            data={(["never", "after", "when_not_active"] as const).map((p) => ({
              value: p,
              label: t(`canvas.settings.reEntryPolicies.${p}`),
            }))}
            onChange={(policy) =>
              policy &&
              set({
                re_entry: {
                  policy: policy as "never",
                  period: policy === "after" ? (reEntry.period ?? "P7D") : undefined,
                } as Definition["re_entry"],
              })
            }
            data-field="re_entry"
          />
          {reEntry.policy === "after" && (
            <DurationInput
              label={t("canvas.settings.reEntryPeriod")}
              value={reEntry.period ?? null}
              defaultUnit="day"
              onChange={(period) =>
                set({
                  re_entry: { ...reEntry, period: period ?? undefined } as Definition["re_entry"],
                })
              }
              error={err("re_entry.period")}
            />
          )}
          <Switch
            label={t("canvas.settings.throttle")}
            checked={!!doc.throttle}
            onChange={(event) =>
              set({ throttle: event.currentTarget.checked ? { max_per_minute: 600 } : undefined })
            }
          />
          {doc.throttle && (
            <NumberInput
              label={t("canvas.settings.maxPerMinute")}
              value={doc.throttle.max_per_minute}
              min={1}
              allowDecimal={false}
              onChange={(value) => set({ throttle: { max_per_minute: Number(value) || 1 } })}
              error={err("throttle.max_per_minute")}
            />
          )}

          <Divider label={t("canvas.settings.goal")} labelPosition="left" />
          <Switch
            label={t("canvas.settings.hasGoal")}
            description={t("canvas.settings.goalHint")}
            checked={!!doc.goal}
            onChange={(event) =>
              set({
                goal: event.currentTarget.checked
                  ? ({ event: "", where: [], revenue_property: "revenue" } as Definition["goal"])
                  : undefined,
              })
            }
            data-field="goal"
          />
          {doc.goal && (
            <>
              <EventPicker
                label={t("canvas.settings.goalEvent")}
                value={doc.goal.event}
                onChange={(event) => set({ goal: { ...doc.goal!, event } })}
                error={err("goal.event")}
                required
                data-field="goal.event"
              />
              <NumberInput
                label={t("canvas.settings.targetRate")}
                description={t("canvas.settings.targetRateHint")}
                value={doc.goal.target_rate != null ? Math.round(doc.goal.target_rate * 100) : ""}
                min={1}
                max={100}
                suffix=" %"
                onChange={(value) =>
                  set({
                    goal: {
                      ...doc.goal!,
                      target_rate: value === "" ? undefined : Number(value) / 100,
                    },
                  })
                }
                error={err("goal.target_rate")}
              />
            </>
          )}

          <Divider label={t("canvas.settings.exits")} labelPosition="left" />
          <Text size="xs" c="dimmed">
            {t("canvas.settings.exitsHint")}
          </Text>
          {(doc.exits ?? []).map((exit, index) => {
            const setExit = (patch: Record<string, unknown>) =>
              set({
                exits: (doc.exits ?? []).map((x, i) => (i === index ? { ...x, ...patch } : x)),
              });
            const bySegment = exit.segment != null;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
              <Stack key={index} gap={6} data-exit={index}>
                <Group justify="space-between" wrap="nowrap">
                  <SegmentedControl
                    size="xs"
                    aria-label={t("canvas.settings.exitKind", { n: index + 1 })}
                    value={bySegment ? "segment" : "event"}
                    onChange={(kind) =>
                      setExit(
                        kind === "segment"
                          ? { event: undefined, where: [], segment: "", change: "entered" }
                          : { segment: undefined, event: "" },
                      )
                    }
                    data={[
                      { value: "event", label: t("canvas.settings.exitOnEvent") },
                      { value: "segment", label: t("canvas.settings.exitOnSegment") },
                    ]}
                  />
                  <Button
                    size="compact-xs"
                    variant="subtle"
                    color="red"
                    leftSection={<IconTrash size={12} aria-hidden="true" />}
                    onClick={() => set({ exits: (doc.exits ?? []).filter((_, i) => i !== index) })}
                  >
                    {t("canvas.form.remove")}
                  </Button>
                </Group>
                {bySegment ? (
                  <>
                    <SegmentPicker
                      label={t("canvas.settings.exitSegment", { n: index + 1 })}
                      value={exit.segment}
                      onChange={(segment) => setExit({ segment })}
                      error={err(`exits.${index}`)}
                    />
                    <Select
                      aria-label={t("canvas.settings.segmentChange")}
                      value={exit.change ?? "entered"}
                      allowDeselect={false}
                      data={[
                        { value: "entered", label: t("canvas.settings.segmentEntered") },
                        { value: "exited", label: t("canvas.settings.segmentExited") },
                      ]}
                      onChange={(change) => change && setExit({ change })}
                    />
                  </>
                ) : (
                  <EventPicker
                    label={t("canvas.settings.exitEvent", { n: index + 1 })}
                    value={exit.event}
                    onChange={(event) => setExit({ event })}
                    error={err(`exits.${index}`)}
                  />
                )}
              </Stack>
            );
          })}
          <Button
            size="xs"
            variant="light"
            leftSection={<IconPlus size={14} aria-hidden="true" />}
            onClick={() =>
              set({
                exits: [...(doc.exits ?? []), { event: "", where: [], change: "entered" }],
              })
            }
            style={{ alignSelf: "flex-start" }}
          >
            {t("canvas.settings.addExit")}
          </Button>
        </Stack>
      </fieldset>
    </Stack>
  );
}
