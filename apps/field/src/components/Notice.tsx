/** A message after an action: an alert when something went wrong, a status otherwise. */
export type Message = { tone: 'good' | 'bad' | 'info'; text: string };

export function Notice({ message, small }: { message: Message | null; small?: boolean }) {
  if (!message) return null;
  return (
    <p
      className={`notice tone-${message.tone}${small ? ' small' : ''}`}
      role={message.tone === 'bad' ? 'alert' : 'status'}
    >
      {message.text}
    </p>
  );
}
