// The Revoke button and its confirmation: a revoked device's next sync is refused (403) until
// it registers again.
import { useState } from 'react';
import { ApiError } from '../api.js';
import { useSession } from '../app-context.js';
import { ConfirmDialog, ErrorNotice } from './ui.js';

export function RevokeDevice({
  deviceId,
  label,
  onRevoked,
}: {
  deviceId: string;
  label: string;
  onRevoked(): void;
}) {
  const { api } = useSession();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  async function revoke() {
    setBusy(true);
    setError(undefined);
    try {
      await api.del(`/api/sync/devices/${encodeURIComponent(deviceId)}`);
      setAsking(false);
      onRevoked();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'CLIENT', String(caught)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button
        type="button"
        className="button small danger-outline"
        aria-label={`Revoke ${label}`}
        onClick={() => setAsking(true)}
      >
        Revoke
      </button>
      {asking ? (
        <ConfirmDialog
          title={`Revoke ${label}?`}
          confirmLabel="Revoke device"
          danger
          busy={busy}
          onConfirm={() => void revoke()}
          onCancel={() => setAsking(false)}
        >
          <p>
            Its next sync is refused until it is registered again. Changes it has not sent yet stay
            on the device.
          </p>
          <ErrorNotice error={error} title="The device could not be revoked" />
        </ConfirmDialog>
      ) : null}
    </>
  );
}
