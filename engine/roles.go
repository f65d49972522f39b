package engine

import "slices"

import "sort"

// Privilege is one right a role grants, named as the Enswitch function
// pages name what they require.
type Privilege string

const (
	PrivSystem        Privilege = "system"
	PrivCommerce      Privilege = "commerce"
	PrivAdministrator Privilege = "administrator"
	PrivWholesale     Privilege = "wholesale"
	PrivResidential   Privilege = "residential"
	PrivUser          Privilege = "user"
	PrivSettings      Privilege = "settings"
)

// rolePrivileges maps a role name to the privileges it grants. INFERRED: Enswitch
// keeps roles as database rows with privilege flags and documents no fixed
// set; these are its pre-defined roles expressed as flags. "system" (the
// system owner) holds every privilege.
var rolePrivileges = map[string][]Privilege{
	"system":        {PrivSystem, PrivCommerce, PrivAdministrator, PrivWholesale, PrivResidential, PrivUser, PrivSettings},
	"reseller":      {PrivCommerce, PrivAdministrator, PrivWholesale, PrivUser, PrivSettings},
	"administrator": {PrivAdministrator, PrivUser, PrivSettings},
	"wholesale":     {PrivWholesale, PrivUser},
	"commerce":      {PrivCommerce},
	"residential":   {PrivResidential},
	"user":          {PrivUser},
}

// RoleNames lists the roles in a stable order (for usage text).
func RoleNames() []string {
	names := make([]string, 0, len(rolePrivileges))
	for n := range rolePrivileges {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// grants reports whether role holds any of the privileges.
func grants(role string, any ...Privilege) bool {
	for _, have := range rolePrivileges[role] {
		if slices.Contains(any, have) {
			return true
		}
	}
	return false
}
