/** A range of reception times, as typed in local time (`<input type="datetime-local">` values). */
export interface TimeRangeValue {
  from: string;
  to: string;
}

/** "Received from" and "Received before" fields, for a filter form. */
export function TimeRangeFields({
  value,
  onChange,
}: {
  value: TimeRangeValue;
  onChange: (next: TimeRangeValue) => void;
}) {
  return (
    <>
      {(
        [
          ['from', 'Received from'],
          ['to', 'Received before'],
        ] as const
      ).map(([field, label]) => (
        <label key={field}>
          {label}
          <input
            type="datetime-local"
            step="1"
            name={field}
            value={value[field]}
            onInput={(e) => onChange({ ...value, [field]: e.currentTarget.value })}
          />
        </label>
      ))}
    </>
  );
}
