/**
 * Tasks by name: the CLI and the training loop look tasks up here. A static list (no import-time side effects);
 * adding a task is one import and one entry in `all`.
 */
import { iclRegression } from "./icl-regression.ts";
import { teacherStudent } from "./teacher-student.ts";
import type { Task } from "./types.ts";
import { InputError } from "../errors.ts";

const all: readonly Task[] = [teacherStudent, iclRegression];

/** The task called `name` (Section 3 "teacher-student", Section 4 "icl-regression"), or a one-line error listing the known names. */
export function getTask(name: string): Task {
  const t = all.find((task) => task.name === name);
  if (!t) throw new InputError(`unknown task "${name}" (known: ${taskNames().join(", ")})`);
  return t;
}

/** All registered task names, in registration order: ["teacher-student", "icl-regression"]. */
export function taskNames(): string[] {
  return all.map((t) => t.name);
}
