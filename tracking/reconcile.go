package tracking

import (
	"database/sql"
	"fmt"
	"time"
)

// reconcile marks KILLED the live runs of this host whose process has ended
// (crashed, was killed, or the machine rebooted) without finishing them.
// Runs recorded on another host are left alone: their processes cannot be
// seen from here.
func (s *Store) reconcile() error {
	type owner struct {
		id    RunID
		pid   int
		token string
	}
	rows, err := s.r.Query(`SELECT id, pid, proc_start FROM runs WHERE status IN ('QUEUED', 'RUNNING') AND host = ?`, s.host)
	if err != nil {
		return s.errf("check live runs: %w", err)
	}
	var dead []owner
	for rows.Next() {
		var o owner
		if err := rows.Scan(&o.id, &o.pid, &o.token); err != nil {
			rows.Close()
			return s.errf("check live runs: %w", err)
		}
		if processGone(o.pid, o.token) {
			dead = append(dead, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.errf("check live runs: %w", err)
	}
	if len(dead) == 0 {
		return nil
	}
	now := micros(time.Now())
	return s.write(func(tx *sql.Tx) error {
		for _, o := range dead {
			// The status test makes this a no-op for a run that another
			// process finished or reconciled since the query above.
			_, err := tx.Exec(`UPDATE runs SET status = 'KILLED', ended_at = ?, error = ?
				WHERE id = ? AND status IN ('QUEUED', 'RUNNING') AND pid = ? AND proc_start = ?`,
				now, fmt.Sprintf("process %d on %s ended without finishing the run", o.pid, s.host),
				int64(o.id), o.pid, o.token)
			if err != nil {
				return s.errf("mark run %d killed: %w", o.id, err)
			}
		}
		return nil
	})
}
