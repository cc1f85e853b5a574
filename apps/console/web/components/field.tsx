import type { ComponentChildren, Ref } from 'preact';

/**
 * A labelled text input with a hint and, when the API refused its value, the problem under it:
 * marked `aria-invalid` and described by the hint and the problem, so a screen reader reads both
 * when the field takes focus. With `rows`, a multi-line text area (JSON, an expression).
 */
export function TextField({
  id,
  name,
  label,
  hint,
  problem,
  value,
  onValue,
  inputMode = 'text',
  required = false,
  inputRef,
  rows,
}: {
  id: string;
  name: string;
  label: string;
  hint: ComponentChildren;
  problem: string | undefined;
  value: string;
  onValue: (value: string) => void;
  /** The phone keyboard to offer; the value is checked by the API, in its words, not the browser. */
  inputMode?: 'text' | 'url';
  required?: boolean;
  inputRef?: Ref<HTMLInputElement>;
  rows?: number;
}) {
  const shared = {
    id,
    name,
    required,
    spellcheck: false,
    value,
    'aria-invalid': problem !== undefined,
    'aria-describedby': problem === undefined ? `${id}-hint` : `${id}-hint ${id}-problem`,
  };
  return (
    <>
      <label for={id}>{label}</label>
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {rows === undefined ? (
        <input
          {...shared}
          ref={inputRef}
          inputMode={inputMode}
          autocomplete="off"
          onInput={(e) => onValue(e.currentTarget.value)}
        />
      ) : (
        <textarea {...shared} rows={rows} onInput={(e) => onValue(e.currentTarget.value)} />
      )}
      {problem !== undefined && (
        <p class="field-error" id={`${id}-problem`}>
          {problem}
        </p>
      )}
    </>
  );
}
