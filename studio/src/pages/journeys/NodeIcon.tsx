import { ThemeIcon } from "@mantine/core";
import {
  IconArrowBackUp,
  IconBell,
  IconBolt,
  IconClock,
  IconDoorExit,
  IconGitBranch,
  IconGitFork,
  IconHeadset,
  IconHourglass,
  IconSend,
  IconUserEdit,
  IconWebhook,
} from "@tabler/icons-react";
import type { NodeType } from "./describe";

const ICONS = {
  wait: IconClock,
  wait_for_event: IconHourglass,
  branch: IconGitBranch,
  split: IconGitFork,
  send: IconSend,
  update_profile: IconUserEdit,
  webhook: IconWebhook,
  agent_task: IconHeadset,
  decide: IconBolt,
  jump: IconArrowBackUp,
  exit: IconDoorExit,
} satisfies Record<NodeType, unknown>;

export function NodeIcon({ type }: { type: NodeType }) {
  const Icon = ICONS[type] ?? IconBell;
  return (
    <ThemeIcon size="sm" variant="light" radius="sm" aria-hidden="true">
      <Icon size={14} />
    </ThemeIcon>
  );
}
