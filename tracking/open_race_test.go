package tracking

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Stores opened by several processes at once, all finding an empty
// database, must agree on who creates the schema: none of them may take
// the half-made schema of another for a foreign database.
func TestSimultaneousOpensOfANewStore(t *testing.T) {
	for round := 0; round < 40; round++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(round))
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(dir)
				if err != nil {
					errs <- err
					return
				}
				s.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
