// The rule builder: a condition of the shared rule format (partitur.core.rules) put together
// from rows a person reads ("cart_value is greater than 100", "in segment VIP", "“Order
// Completed” at least 2 times in the last 30 days"), with "all"/"any" groups, and the whole
// condition in words underneath. The journey canvas (branch cases, entry conditions) and the
// segment builder use this one component.
import {
  ActionIcon,
  Button,
  Group,
  Menu,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Text,
  TextInput,
} from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { journeysQuery, segmentsQuery } from "@/api/queries";
import { DurationInput } from "@/components/DurationInput";
import { EventPicker, SegmentPicker } from "@/components/pickers";
import { useFormat } from "@/i18n";
import { describeRule, type Names } from "@/pages/journeys/describe";
import { parseValue, takesNoValue, valueText } from "./values";

/** A rule document as the builder edits it (the server checks it against the format). */
export type RuleDoc = Record<string, unknown>;

const OPS = [
  "eq",
  "ne",
  "gt",
  "gte",
  "lt",
  "lte",
  "in",
  "not_in",
  "contains",
  "not_contains",
  "starts_with",
  "ends_with",
  "exists",
  "not_exists",
] as const;
const COUNT_OPS = ["gte", "gt", "eq", "lte", "lt"] as const;

export type LeafKind = "trait" | "event" | "last_event" | "segment" | "score";
const KINDS: LeafKind[] = ["trait", "event", "last_event", "segment", "score"];

/** A new condition of a kind, with nothing chosen yet. */
export function newLeaf(kind: LeafKind): RuleDoc {
  switch (kind) {
    case "trait":
      return { trait: "", op: "eq", value: "" };
    case "score":
      return { score: "", op: "gte", value: "" };
    case "event":
      return { event: "", where: [], within: "P30D", count: { op: "gte", value: 1 } };
    case "last_event":
      return { last_event: "", where: [], within: "P30D", negate: false };
    case "segment":
      return { segment: "" };
  }
}

function isGroup(rule: RuleDoc): "all" | "any" | null {
  if (Array.isArray(rule.all)) return "all";
  if (Array.isArray(rule.any)) return "any";
  return null;
}

/** The names of segments and journeys, for conditions in words. */
export function useRuleNames(): Names {
  const segments = useQuery(segmentsQuery);
  const journeys = useQuery(journeysQuery);
  return useMemo(
    () => ({
      segments: new Map((segments.data ?? []).map((s) => [s.key, s.name])),
      journeys: new Map((journeys.data ?? []).map((j) => [j.key, j.name])),
    }),
    [segments.data, journeys.data],
  );
}

interface ComparisonProps {
  op: string | undefined;
  value: unknown;
  onChange: (op: string, value: unknown) => void;
  label: string;
  ops?: readonly string[];
  error?: string | undefined;
}

/** An operator and a value ("greater than" "100"). */
export function ComparisonInput({ op, value, onChange, label, ops = OPS, error }: ComparisonProps) {
  const { t } = useTranslation();
  const current = op ?? "eq";
  return (
    <Group gap="xs" wrap="nowrap" align="flex-start">
      <Select
        aria-label={t("ruleBuilder.operatorOf", { label })}
        value={current}
        allowDeselect={false}
        data={ops.map((o) => ({ value: o, label: t(`rule.op.${o as (typeof OPS)[number]}`) }))}
        onChange={(next) => next && onChange(next, parseValue(valueText(value), next))}
        w={150}
        comboboxProps={{ withinPortal: true }}
      />
      {!takesNoValue(current) && (
        <TextInput
          aria-label={t("ruleBuilder.valueOf", { label })}
          placeholder={
            current === "in" || current === "not_in"
              ? t("ruleBuilder.listHint")
              : t("ruleBuilder.value")
          }
          value={valueText(value)}
          onChange={(event) => onChange(current, parseValue(event.currentTarget.value, current))}
          error={error}
          style={{ flex: 1 }}
        />
      )}
    </Group>
  );
}

interface RuleBuilderProps {
  value: RuleDoc | null | undefined;
  onChange: (rule: RuleDoc | null) => void;
  /** Names the condition for screen readers and the problems shown with it. */
  label: string;
  error?: string | undefined;
  /** May the condition be removed entirely (an optional entry condition)? */
  optional?: boolean;
}

/** A condition: one row, or a group of rows that must all (or any) hold. */
export function RuleBuilder({ value, onChange, label, error, optional }: RuleBuilderProps) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const names = useRuleNames();
  const rule = value ?? null;
  const words = useMemo(() => {
    if (!rule) return null;
    try {
      return describeRule(rule, t, fmt, names);
    } catch {
      return null;
    }
  }, [rule, t, fmt, names]);

  if (!rule) {
    return (
      <AddCondition
        label={t("ruleBuilder.addCondition")}
        onAdd={(kind) => onChange(kind === "group" ? { any: [newLeaf("trait")] } : newLeaf(kind))}
        testId="rule-add"
      />
    );
  }
  return (
    <Stack gap="xs" data-rule-builder={label}>
      <ConditionGroup label={label} rule={rule} onChange={onChange} depth={0} optional={optional} />
      {error && (
        <Text size="xs" c="red.8" role="alert">
          {error}
        </Text>
      )}
      {words && (
        <Text size="xs" c="dimmed" data-rule-words>
          {t("ruleBuilder.inWords", { rule: words })}
        </Text>
      )}
    </Stack>
  );
}

function AddCondition({
  label,
  onAdd,
  testId,
  groups,
}: {
  label: string;
  onAdd: (kind: LeafKind | "group") => void;
  testId: string;
  groups?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Menu position="bottom-start" withinPortal>
      <Menu.Target>
        <Button
          variant="light"
          size="xs"
          leftSection={<IconPlus size={14} aria-hidden="true" />}
          data-testid={testId}
        >
          {label}
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        {KINDS.map((kind) => (
          <Menu.Item key={kind} onClick={() => onAdd(kind)} data-kind={kind}>
            {t(`ruleBuilder.kind.${kind}`)}
          </Menu.Item>
        ))}
        {groups && (
          <Menu.Item onClick={() => onAdd("group")} data-kind="group">
            {t("ruleBuilder.kind.group")}
          </Menu.Item>
        )}
      </Menu.Dropdown>
    </Menu>
  );
}

interface GroupProps {
  label: string;
  rule: RuleDoc;
  onChange: (rule: RuleDoc | null) => void;
  depth: number;
  optional?: boolean | undefined;
}

/** A group (all/any) of conditions; a single condition is shown as a group of one and saved
 * as the condition itself. */
function ConditionGroup({ label, rule, onChange, depth, optional }: GroupProps) {
  const { t } = useTranslation();
  const mode = isGroup(rule);
  const items: RuleDoc[] = mode ? (rule[mode] as RuleDoc[]) : [rule];
  const join = mode ?? "all";
  const save = (next: RuleDoc[], nextJoin: "all" | "any" = join) => {
    if (next.length === 0) onChange(null);
    else if (next.length === 1 && depth === 0 && next[0] && !isGroup(next[0])) onChange(next[0]);
    else onChange({ [nextJoin]: next });
  };
  return (
    <Paper withBorder p="xs" radius="sm" bg={depth ? "gray.0" : undefined}>
      <Stack gap="xs">
        {items.length > 1 && (
          <Group gap="xs">
            <Text size="xs">{t("ruleBuilder.match")}</Text>
            <SegmentedControl
              size="xs"
              aria-label={t("ruleBuilder.joinOf", { label })}
              value={join}
              onChange={(next) => save(items, next as "all" | "any")}
              data={[
                { value: "all", label: t("ruleBuilder.all") },
                { value: "any", label: t("ruleBuilder.any") },
              ]}
            />
          </Group>
        )}
        {items.map((item, index) => {
          const replace = (next: RuleDoc | null) =>
            save(
              next
                ? items.map((r, i) => (i === index ? next : r))
                : items.filter((_, i) => i !== index),
            );
          const rowLabel = t("ruleBuilder.rowLabel", { label, n: index + 1 });
          return isGroup(item) ? (
            <ConditionGroup
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
              key={index}
              label={rowLabel}
              rule={item}
              onChange={replace}
              depth={depth + 1}
            />
          ) : (
            <Condition
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
              key={index}
              label={rowLabel}
              rule={item}
              onChange={replace}
              removable={items.length > 1 || depth > 0 || !!optional}
            />
          );
        })}
        <AddCondition
          label={t("ruleBuilder.addCondition")}
          groups={depth === 0}
          testId="rule-add"
          onAdd={(kind) =>
            save([...items, kind === "group" ? { any: [newLeaf("trait")] } : newLeaf(kind)])
          }
        />
      </Stack>
    </Paper>
  );
}

interface ConditionProps {
  label: string;
  rule: RuleDoc;
  onChange: (rule: RuleDoc | null) => void;
  removable: boolean;
}

/** One condition; ``{not: ...}`` around a segment is "is not in segment". */
function Condition({ label, rule, onChange, removable }: ConditionProps) {
  const { t } = useTranslation();
  const negated = "not" in rule && rule.not && typeof rule.not === "object";
  const inner = (negated ? rule.not : rule) as RuleDoc;
  const set = (patch: RuleDoc) => {
    const next = { ...inner, ...patch };
    onChange(negated ? { not: next } : next);
  };
  let body: React.ReactNode;
  if ("segment" in inner) {
    body = (
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Select
          aria-label={t("ruleBuilder.segmentMembershipOf", { label })}
          value={negated ? "out" : "in"}
          allowDeselect={false}
          data={[
            { value: "in", label: t("ruleBuilder.inSegment") },
            { value: "out", label: t("ruleBuilder.notInSegment") },
          ]}
          onChange={(next) => onChange(next === "out" ? { not: inner } : inner)}
          w={170}
        />
        <div style={{ flex: 1 }}>
          <SegmentPicker
            label={t("ruleBuilder.kind.segment")}
            value={inner.segment as string}
            onChange={(segment) => set({ segment })}
          />
        </div>
      </Group>
    );
  } else if ("trait" in inner || "score" in inner) {
    const field = "trait" in inner ? "trait" : "score";
    body = (
      <Stack gap={6}>
        <TextInput
          label={t(field === "trait" ? "ruleBuilder.trait" : "ruleBuilder.score")}
          description={field === "trait" ? t("ruleBuilder.traitHint") : undefined}
          value={String(inner[field] ?? "")}
          onChange={(event) => set({ [field]: event.currentTarget.value })}
        />
        <ComparisonInput
          label={label}
          op={inner.op as string}
          value={inner.value}
          onChange={(op, value) => set({ op, value })}
        />
      </Stack>
    );
  } else if ("last_event" in inner) {
    body = (
      <Stack gap={6}>
        <Select
          aria-label={t("ruleBuilder.happenedOf", { label })}
          value={inner.negate ? "no" : "yes"}
          allowDeselect={false}
          data={[
            { value: "yes", label: t("ruleBuilder.happened") },
            { value: "no", label: t("ruleBuilder.notHappened") },
          ]}
          onChange={(next) => set({ negate: next === "no" })}
        />
        <EventPicker
          label={t("ruleBuilder.event")}
          value={inner.last_event as string}
          onChange={(name) => set({ last_event: name })}
        />
        <DurationInput
          label={t("ruleBuilder.withinLast")}
          value={inner.within as string}
          defaultUnit="day"
          onChange={(within) => set({ within: within ?? "" })}
        />
      </Stack>
    );
  } else {
    const count = (inner.count as RuleDoc | undefined) ?? { op: "gte", value: 1 };
    body = (
      <Stack gap={6}>
        <EventPicker
          label={t("ruleBuilder.event")}
          value={inner.event as string}
          onChange={(name) => set({ event: name })}
        />
        <Text size="xs">{t("ruleBuilder.howOften")}</Text>
        <ComparisonInput
          label={label}
          ops={COUNT_OPS}
          op={count.op as string}
          value={count.value}
          onChange={(op, value) => set({ count: { op, value } })}
        />
        <DurationInput
          label={t("ruleBuilder.withinLast")}
          description={t("ruleBuilder.withinHint")}
          value={(inner.within as string | null) ?? null}
          defaultUnit="day"
          onChange={(within) => set({ within })}
        />
      </Stack>
    );
  }
  const kind: LeafKind =
    "segment" in inner
      ? "segment"
      : "trait" in inner
        ? "trait"
        : "score" in inner
          ? "score"
          : "last_event" in inner
            ? "last_event"
            : "event";
  return (
    <Paper p="xs" radius="sm" withBorder data-condition={kind}>
      <Group justify="space-between" mb={6} wrap="nowrap">
        <Text size="xs" fw={600}>
          {t(`ruleBuilder.kind.${kind}`)}
        </Text>
        {removable && (
          <ActionIcon
            variant="subtle"
            color="gray"
            size="sm"
            aria-label={t("ruleBuilder.remove", { label })}
            onClick={() => onChange(null)}
          >
            <IconTrash size={14} aria-hidden="true" />
          </ActionIcon>
        )}
      </Group>
      {body}
    </Paper>
  );
}
