package engine

// User is a person who may call the admin APIs.
type User struct {
	ID       int    `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Customer int    `json:"customer"`
}
