import { describe, expect, it } from "vitest";
import { singleSignOnUrl } from "@/api/auth";
import { translator } from "@/i18n/testing";
import { linkToken, safeNext, singleSignOnProblem } from "./signIn";

describe("after signing in", () => {
  it("goes back to a page of the Studio, never to another site or a sign-in page", () => {
    expect(safeNext("/profiles?q=anna%40example.com")).toBe("/profiles?q=anna%40example.com");
    expect(safeNext(undefined)).toBe("/");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/sign-in?next=/journeys")).toBe("/");
    expect(safeNext("/set-password")).toBe("/");
  });
});

describe("single sign-on", () => {
  const methods = {
    workspace: "demo team",
    password: true,
    sso: true,
    sso_label: "Sign in with Example ID",
    sso_start_url: "/api/session/oidc/start?workspace=demo%20team",
  };

  it("starts at the server and comes back to the page asked for", () => {
    const url = singleSignOnUrl(methods, "/journeys?node=a b");
    expect(url).not.toBeNull();
    const parsed = new URL(url ?? "", "http://partitur.test");
    expect(parsed.pathname).toBe("/api/session/oidc/start");
    expect(parsed.searchParams.get("workspace")).toBe("demo team");
    expect(parsed.searchParams.get("next")).toBe("/ui/journeys?node=a b");
  });

  it("is not offered when the workspace has none", () => {
    expect(singleSignOnUrl({ ...methods, sso: false }, "/")).toBeNull();
    expect(singleSignOnUrl({ ...methods, sso_start_url: null }, "/")).toBeNull();
  });

  it("says in both languages why it came back without a session", async () => {
    for (const language of ["en", "de"] as const) {
      const { t } = await translator(language);
      const said = new Set(
        [
          "expired",
          "missing_state",
          "not_allowed",
          "provider_access_denied",
          "dependency-failed",
        ].map((reason) => singleSignOnProblem(t, reason)),
      );
      expect(said.size, language).toBe(4);
      expect(singleSignOnProblem(t, "expired")).toBe(t("signIn.ssoExpired"));
      expect(singleSignOnProblem(t, "not_allowed")).toBe(t("signIn.ssoNotAllowed"));
      expect(singleSignOnProblem(t, "something new")).toBe(t("signIn.ssoFailed"));
    }
  });
});

describe("the set-password link", () => {
  it("carries its token in the fragment", () => {
    expect(linkToken("#token=abc_DEF-123")).toBe("abc_DEF-123");
    expect(linkToken("token=abc")).toBe("abc");
    expect(linkToken("")).toBe("");
    expect(linkToken("#other=1")).toBe("");
  });
});
