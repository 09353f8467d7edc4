package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		d       time.Duration
		cancel  bool
		wantErr error
	}{
		{name: "waits the duration", d: time.Millisecond},
		{name: "a cancelled context ends it at once", d: time.Hour, cancel: true, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			start := time.Now()
			err := Sleep(ctx, tt.d)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Sleep: %v, want %v", err, tt.wantErr)
			}
			if took := time.Since(start); tt.cancel && took > time.Second || !tt.cancel && took < tt.d {
				t.Errorf("Sleep took %v", took)
			}
		})
	}
}
