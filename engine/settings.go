package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipswitch/sipswitch/routing"
	"github.com/sipswitch/sipswitch/storage"
)

// Switch-wide settings (settings/get, settings/update): the default peer,
// plan and class of service that objects refer to with 0.

// SettingKeys are the settings, each naming an object of settingTables.
var SettingKeys = []string{"default_peer", "default_plan", "default_cos"}

var settingTables = map[string]string{"default_peer": "peers", "default_plan": "plans", "default_cos": "cos"}

// settingObjects name, in messages, what each setting refers to.
var settingObjects = map[string]string{"default_peer": "peer", "default_plan": "rate plan", "default_cos": "class of service"}

// SetSettings stores switch-wide settings (default_peer, default_plan) in
// one transaction, checking each object it names exists.
func (s *Service) SetSettings(ctx context.Context, a *Actor, settings map[string]int) error {
	if err := s.authorize(a, []Privilege{PrivSystem}); err != nil {
		return err
	}
	return s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		var errs FieldErrors
		for key, value := range settings {
			table := settingTables[key]
			if table == "" {
				errs = append(errs, FieldError{Key: key, Message: key + " is not a setting (" + strings.Join(SettingKeys, ", ") + ")"})
				continue
			}
			if value != 0 {
				if ok, err := exists(ctx, tx, table, value); err != nil {
					return err
				} else if !ok {
					errs = append(errs, FieldError{Key: key, Message: fmt.Sprintf("%s %d does not exist", key, value)})
					continue
				}
			}
			if err := tx.SetSetting(ctx, key, strconv.Itoa(value)); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return s.audit(ctx, tx, a, "settings/update", "settings", settingsChanges(settings))
	})
}

// Settings reads the switch-wide settings.
func (s *Service) Settings(ctx context.Context) (routing.Settings, error) {
	var st routing.Settings
	err := s.db.Read(ctx, func(tx *storage.Tx) error {
		var err error
		st, err = settingsIn(ctx, tx)
		return err
	})
	return st, err
}

func settingsIn(ctx context.Context, tx *storage.Tx) (routing.Settings, error) {
	var st routing.Settings
	for key, dst := range map[string]*int{"default_peer": &st.DefaultPeer, "default_plan": &st.DefaultPlan, "default_cos": &st.DefaultCOS} {
		v, err := tx.Setting(ctx, key)
		if err != nil {
			return st, err
		}
		*dst, _ = strconv.Atoi(v)
	}
	return st, nil
}
