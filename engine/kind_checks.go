package engine

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"strconv"

	"github.com/sipswitch/sipswitch/storage"
)

// The object kinds of the Enswitch API. Privileges follow the function
// pages (shared/reference/api-and-asterisk.md §2); where a page is missing
// the choice is marked INFERRED.

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func exists(ctx context.Context, tx *storage.Tx, table string, id int) (bool, error) {
	n, err := tx.Count(ctx, table, storage.Cond{Col: "id", Op: "=", Val: id})
	return n > 0, err
}

// reference is a column of another table that points at a row.
type reference struct{ table, col, what string }

// refuseIfReferenced fails the delete of row id while any ref points at
// it: "<subject> <n> <what>", e.g. "customer has 2 user(s)".
func refuseIfReferenced(ctx context.Context, tx *storage.Tx, id int, subject string, refs ...reference) error {
	for _, ref := range refs {
		n, err := tx.Count(ctx, ref.table, storage.Cond{Col: ref.col, Op: "=", Val: id})
		if err != nil {
			return err
		}
		if n > 0 {
			return FieldErrors{{Key: "id", Message: fmt.Sprintf("%s %d %s", subject, n, ref.what)}}
		}
	}
	return nil
}

// sectionHolders share one name space: every peer, phone and SIP endpoint
// becomes an Asterisk section of the same name. The name columns are
// COLLATE NOCASE, as Asterisk compares section names, so "Acme" holds
// "ACME".
var sectionHolders = []storage.NameHolder{
	{Table: "peers", Column: "name", Label: "peer"},
	{Table: "phones", Column: "name", Label: "telephone line"},
	{Table: "sip_endpoints", Column: "name", Label: "SIP endpoint"},
}

// sectionNameTaken reports which other kind already uses name as its
// Asterisk section name ("" when free). self is the table of the object
// being saved, which its own UNIQUE constraint covers.
func sectionNameTaken(ctx context.Context, tx *storage.Tx, name, self string) (string, error) {
	others := make([]storage.NameHolder, 0, len(sectionHolders))
	for _, h := range sectionHolders {
		if h.Table != self {
			others = append(others, h)
		}
	}
	return tx.FirstHolder(ctx, name, others)
}

func sectionNameCheck(ctx context.Context, tx *storage.Tx, name, self string) (FieldErrors, error) {
	what, err := sectionNameTaken(ctx, tx, name, self)
	if err != nil || what == "" {
		return nil, err
	}
	return FieldErrors{{Key: "name", Message: "name is already used by a " + what + " (peers, lines and SIP endpoints share Asterisk section names)", Reason: ReasonInUse}}, nil
}

// actorCustomerDefault returns a defaultsFor that fills key, when the
// input leaves it out, with the acting user's customer.
func actorCustomerDefault(key string) func(a *Actor, input Values) Values {
	return func(a *Actor, input Values) Values {
		if _, ok := input[key]; ok || a == nil {
			return input
		}
		out := make(Values, len(input)+1)
		maps.Copy(out, input)
		out[key] = strconv.Itoa(a.User.Customer)
		return out
	}
}

// ownedRow reports whether the row of table with this id exists and
// belongs to a customer in the actor's tree.
func ownedRow(ctx context.Context, tx *storage.Tx, a *Actor, table string, id int) bool {
	// Only the customer column is read: every route created checks its
	// plan so, and a switch file creates thousands.
	var customer sql.NullInt64 // NULL reads as 0, as valuesOfRecord does
	found := false
	err := tx.Scan(ctx, table, []string{"customer"}, []storage.Cond{{Col: "id", Op: "=", Val: id}}, func(r storage.Scanner) error {
		found = true
		return r.Scan(&customer)
	})
	return err == nil && found && a.Owns(int(customer.Int64))
}
