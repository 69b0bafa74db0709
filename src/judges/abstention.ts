/** Phrases with which models decline to answer. Matched case-insensitively near the start of the answer. */
const REFUSALS = [
  /\bI(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:no|')t|am unable|won't)/i,
  /\bI (?:can(?:no|')t|am unable to|won't|will not) (?:help|answer|assist|provide|comply|do that)/i,
  /\bas an AI(?: language model)?,? I (?:can(?:no|')t|don't|do not)/i,
  /\bI (?:don't|do not) (?:know|have (?:enough )?information)/i,
  /\bI (?:must|have to) (?:decline|refuse)/i,
  /^\s*(?:I decline|No comment|Refused?)\b/i,
];

/** Whether an answer is a refusal to answer rather than an attempt. */
export function isAbstention(answer: string): boolean {
  const opening = answer.slice(0, 600);
  return REFUSALS.some((pattern) => pattern.test(opening));
}
