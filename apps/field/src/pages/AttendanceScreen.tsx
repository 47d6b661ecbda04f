// Seed 000 on the device: clock in and out at one of the token's facilities with the device's
// location, today's records, and corrections of a clock time under the seed's two rules.
import { useQuery } from '@syncline/client/react';
import { useId, useState } from 'react';
import { useField } from '../app-context.js';
import { Notice, type Message } from '../components/Notice.js';
import {
  attendanceRules,
  checkCorrection,
  clockInRecord,
  clockOutPatch,
  correctionMessages,
  isMismatch,
  openShift,
  timeOnDay,
  todaysRecords,
  type AttendanceRecord,
} from '../attendance.js';
import { formatCoordinates, formatTime, inputTime } from '../format.js';
import { currentPosition } from '../geolocation.js';

export function AttendanceScreen() {
  const { client, claims, deviceId } = useField();
  const attendance = client.collection<AttendanceRecord>('attendance');
  const { data: records, loading } = useQuery(attendance);
  const [facility, setFacility] = useState(claims.facilities[0] ?? '');
  const [working, setWorking] = useState<'in' | 'out' | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const facilityId = useId();

  const now = new Date();
  const open = openShift(records);
  const today = todaysRecords(records, now);

  const clock = async (direction: 'in' | 'out') => {
    setWorking(direction);
    setMessage({ tone: 'info', text: 'Finding your location…' });
    try {
      const position = await currentPosition();
      const at = new Date();
      if (direction === 'in') {
        await attendance.create(
          clockInRecord({ facilityId: facility, position, deviceId, now: at }),
        );
      } else if (open) {
        await attendance.update(open.id, clockOutPatch(position, at));
      }
      setMessage({
        tone: 'good',
        text: `Clocked ${direction} at ${formatTime(at.toISOString())}. Saved on this device${
          navigator.onLine ? '' : '; it is sent when a connection returns'
        }.`,
      });
    } catch (error) {
      setMessage({ tone: 'bad', text: error instanceof Error ? error.message : String(error) });
    } finally {
      setWorking(null);
    }
  };

  if (claims.facilities.length === 0) {
    return (
      <section className="card" aria-labelledby="attendance-title">
        <h1 id="attendance-title">Attendance</h1>
        <p className="notice tone-warn" role="alert">
          Your access token lists no facilities, so there is nowhere to clock in. Ask your admin for
          a token with your facilities.
        </p>
      </section>
    );
  }

  return (
    <div className="attendance-layout">
      <section className="card clock-card" aria-labelledby="attendance-title">
        <div className="card-header">
          <h1 id="attendance-title">Attendance</h1>
          <span className={`badge ${open ? 'tone-good' : ''}`}>
            {open ? `On shift since ${formatTime(open.clockIn)}` : 'Not clocked in'}
          </span>
        </div>
        <div className="field">
          <label htmlFor={facilityId}>Facility</label>
          <select
            id={facilityId}
            value={open ? open.facilityId : facility}
            onChange={(e) => setFacility(e.target.value)}
            disabled={open !== undefined}
          >
            {claims.facilities.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        <div className="clock-buttons">
          <button
            type="button"
            className="button primary big"
            disabled={working !== null || open !== undefined || loading}
            onClick={() => void clock('in')}
          >
            {working === 'in' ? 'Locating…' : 'Clock in'}
          </button>
          <button
            type="button"
            className="button big"
            disabled={working !== null || open === undefined}
            onClick={() => void clock('out')}
          >
            {working === 'out' ? 'Locating…' : 'Clock out'}
          </button>
        </div>
        <Notice message={message} />
        <p className="small muted">Your location is recorded with each clock-in and clock-out.</p>
      </section>

      <section className="card" aria-labelledby="today-title">
        <h2 id="today-title">Today</h2>
        {today.length === 0 ? (
          <p className="muted">No attendance recorded today.</p>
        ) : (
          <ul className="records" aria-label="Today’s records">
            {today.map((record) => (
              <TodayRecord key={record.id} record={record} />
            ))}
          </ul>
        )}
      </section>

      <section className="card rules" aria-labelledby="rules-title">
        <h2 id="rules-title">Time rules</h2>
        <ul>
          <li>{attendanceRules.future}</li>
          <li>{attendanceRules.mismatch}</li>
        </ul>
      </section>
    </div>
  );
}

function TodayRecord({ record }: { record: AttendanceRecord & { id: string } }) {
  const { client } = useField();
  const [editing, setEditing] = useState(false);
  const [field, setField] = useState<'clockIn' | 'clockOut'>('clockIn');
  const [value, setValue] = useState(inputTime(record.clockIn));
  const [message, setMessage] = useState<Message | null>(null);
  const ids = { field: useId(), time: useId() };
  const label = field === 'clockIn' ? 'clock-in' : 'clock-out';

  const save = async () => {
    const day = record.clockIn ?? record.clientTimestamp;
    const at = timeOnDay(day, value);
    const problem = checkCorrection(record, field, at, new Date());
    if (problem || at === undefined) {
      setMessage({ tone: 'bad', text: correctionMessages[problem ?? 'INVALID_TIME'] });
      return;
    }
    await client.collection<AttendanceRecord>('attendance').update(record.id, { [field]: at });
    setEditing(false);
    setMessage({
      tone: isMismatch(record[field], at) ? 'info' : 'good',
      text: isMismatch(record[field], at)
        ? `Corrected ${label} to ${formatTime(at)}. It moves the time by more than a minute, so once sent it waits for an admin’s review.`
        : `Corrected ${label} to ${formatTime(at)}.`,
    });
  };

  return (
    <li className="record">
      <div className="record-main">
        <span className="strong">{record.facilityId}</span>
        <span className="record-times">
          In <strong>{formatTime(record.clockIn)}</strong> · Out{' '}
          <strong>{formatTime(record.clockOut)}</strong>
        </span>
        <span className="small muted">
          {formatCoordinates(record.clockInLatitude, record.clockInLongitude)}
        </span>
      </div>
      {!editing && (
        <button
          type="button"
          className="button ghost small"
          onClick={() => {
            setEditing(true);
            setMessage(null);
          }}
          aria-label={`Correct times of the ${formatTime(record.clockIn)} record`}
        >
          Correct time
        </button>
      )}
      {editing && (
        <div className="correction">
          <div className="field">
            <label htmlFor={ids.field}>Time to correct</label>
            <select
              id={ids.field}
              value={field}
              onChange={(e) => {
                const next = e.target.value as 'clockIn' | 'clockOut';
                setField(next);
                setValue(inputTime(record[next]));
              }}
            >
              <option value="clockIn">Clock-in</option>
              {record.clockOut !== null && <option value="clockOut">Clock-out</option>}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.time}>Corrected time</label>
            <input
              id={ids.time}
              type="time"
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          </div>
          <div className="correction-actions">
            <button type="button" className="button primary small" onClick={() => void save()}>
              Save correction
            </button>
            <button type="button" className="button small" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <Notice message={message} small />
    </li>
  );
}
