// What an importer refuses a document with: every issue, or one expected at a path. Shared by the
// importer tests.
import { expect } from "vitest";
import { PolicyValidationError, type Policy, type PolicyIssue } from "../../../src/policy/model";
import type { RequirementKinds } from "../../../src/policy/requirement-kinds";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";

export interface ImportIssues {
  /** The issues the import fails with; throws when it does not fail, or fails otherwise. */
  issuesOf(document: unknown): readonly PolicyIssue[];
  /** The import fails with an issue at path whose message matches. */
  expectIssue(document: unknown, path: string, message: RegExp): void;
}

/** issuesOf and expectIssue for one importer, run with the default requirement kinds. */
export function importIssues(importer: (document: unknown, kinds: RequirementKinds) => Policy): ImportIssues {
  function issuesOf(document: unknown): readonly PolicyIssue[] {
    try {
      importer(document, kinds);
    } catch (err) {
      if (err instanceof PolicyValidationError) return err.issues;
      throw err;
    }
    throw new Error("expected the import to fail");
  }

  function expectIssue(document: unknown, path: string, message: RegExp): void {
    const issues = issuesOf(document);
    const issue = issues.find((i) => i.path === path);
    expect(issue, JSON.stringify(issues, null, 2)).toBeDefined();
    expect(issue?.message).toMatch(message);
  }

  return { issuesOf, expectIssue };
}
