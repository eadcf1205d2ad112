package main

import "github.com/carrel-library/carrel/models"

// parseStaffTOTP reads CARREL_STAFF_TOTP: which local staff accounts need
// a second factor (web.Config.StaffTOTP, models.Store.StaffTOTP).
func parseStaffTOTP(get func(string) string, bad func(env, want string) error) (string, error) {
	p, err := models.ParseTOTPPolicy(get("CARREL_STAFF_TOTP"))
	if err != nil {
		return "", bad("CARREL_STAFF_TOTP", "required-for-officers, required or optional")
	}
	return p, nil
}
