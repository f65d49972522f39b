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

// SettingKeys are the settings: those naming an object of settingTables,
// and emergency_numbers (routing.ParseEmergencyNumbers; INFERRED name,
// the seeds have no such setting).
var SettingKeys = []string{"default_peer", "default_plan", "default_cos", SettingEmergencyNumbers}

// SettingEmergencyNumbers is the setting listing the emergency numbers.
const SettingEmergencyNumbers = "emergency_numbers"

// checkSetting validates one setting's value: an id (or 0) for the object
// settings, a list of numbers for emergency_numbers. It returns the value
// to store.
func checkSetting(key, value string) (string, error) {
	if key == SettingEmergencyNumbers {
		nums, err := routing.ParseEmergencyNumbers(value)
		if err != nil {
			return "", err
		}
		return strings.Join(nums, ","), nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil || n < 0 {
		return "", fmt.Errorf("%s must be an id, or 0 for none", key)
	}
	return strconv.Itoa(n), nil
}

var settingTables = map[string]string{"default_peer": "peers", "default_plan": "plans", "default_cos": "cos"}

// settingObjects name, in messages, what each setting refers to.
var settingObjects = map[string]string{"default_peer": "peer", "default_plan": "rate plan", "default_cos": "class of service"}

// SetSettings stores switch-wide settings (SettingKeys) in one
// transaction, checking each value and that each object named exists.
func (s *Service) SetSettings(ctx context.Context, a *Actor, settings map[string]string) error {
	if err := s.authorize(a, []Privilege{PrivSystem}); err != nil {
		return err
	}
	return s.writeAudited(ctx, func(ctx context.Context, tx *storage.Tx) error {
		var errs FieldErrors
		stored := make(map[string]string, len(settings))
		for key, raw := range settings {
			if !contains(SettingKeys, key) {
				errs = append(errs, FieldError{Key: key, Message: key + " is not a setting (" + strings.Join(SettingKeys, ", ") + ")"})
				continue
			}
			canon, err := checkSetting(key, raw)
			if err != nil {
				errs = append(errs, FieldError{Key: key, Message: err.Error()})
				continue
			}
			stored[key] = canon
			table := settingTables[key]
			if value, _ := strconv.Atoi(canon); table != "" && value != 0 {
				if ok, err := exists(ctx, tx, table, value); err != nil {
					return err
				} else if !ok {
					errs = append(errs, FieldError{Key: key, Message: fmt.Sprintf("%s %d does not exist", key, value)})
					continue
				}
			}
			if err := tx.SetSetting(ctx, key, canon); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errs
		}
		return s.audit(ctx, tx, a, "settings/update", "settings", stored)
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
	v, err := tx.Setting(ctx, SettingEmergencyNumbers)
	if err != nil {
		return st, err
	}
	st.EmergencyNumbers = v
	return st, nil
}
