// Mantine components as typed router links: `to`, `params` and `search` are checked against the
// route tree (a link to a page or parameter that does not exist fails `tsc`).
import {
  Anchor,
  type AnchorProps,
  Button,
  type ButtonProps,
  NavLink,
  type NavLinkProps,
  UnstyledButton,
  type UnstyledButtonProps,
} from "@mantine/core";
import { createLink, type LinkComponent } from "@tanstack/react-router";
import { type AnchorHTMLAttributes, forwardRef } from "react";

type A = AnchorHTMLAttributes<HTMLAnchorElement>;

const AnchorBase = forwardRef<HTMLAnchorElement, AnchorProps & A>((props, ref) => (
  <Anchor ref={ref} {...props} />
));
const ButtonBase = forwardRef<HTMLAnchorElement, ButtonProps & A>((props, ref) => (
  <Button component="a" ref={ref} {...props} />
));
const NavLinkBase = forwardRef<HTMLAnchorElement, NavLinkProps & A>((props, ref) => (
  <NavLink component="a" ref={ref} {...props} />
));
const PlainBase = forwardRef<HTMLAnchorElement, UnstyledButtonProps & A>((props, ref) => (
  <UnstyledButton component="a" ref={ref} {...props} />
));

const AnchorRouted = createLink(AnchorBase);
const ButtonRouted = createLink(ButtonBase);
const NavLinkRouted = createLink(NavLinkBase);
const PlainRouted = createLink(PlainBase);

/** A text link to a page of the Studio. */
export const AnchorLink: LinkComponent<typeof AnchorBase> = (props) => (
  <AnchorRouted preload="intent" {...props} />
);
/** A button that opens a page of the Studio. */
export const ButtonLink: LinkComponent<typeof ButtonBase> = (props) => (
  <ButtonRouted preload="intent" {...props} />
);
/** A sidebar entry. */
export const NavLinkLink: LinkComponent<typeof NavLinkBase> = (props) => (
  <NavLinkRouted preload="intent" {...props} />
);
/** A link without link styling (the brand). */
export const PlainLink: LinkComponent<typeof PlainBase> = (props) => <PlainRouted {...props} />;
