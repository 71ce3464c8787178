// Package deploy holds the container deployment of signupflow and the tests
// that keep it honest.
//
// The deployment itself lives at the repository root (Dockerfile,
// .dockerignore, docker-compose.yml) plus deploy/temporal-dynamicconfig.yaml
// and deploy/signupflow.compose.yaml (the signupflow configuration the api and
// worker services mount). `docker compose up` runs a production-like topology
// on one machine: PostgreSQL, a one-shot Temporal schema job, the Temporal
// server, a one-shot namespace job, the Temporal Web UI, Redis with AOF
// persistence, Mailpit as the SMTP server, the example API connector, and
// signupflow as separate api and worker services, all from one image.
//
// Docker is not needed to test it: the tests in this package load
// docker-compose.yml with github.com/compose-spec/compose-go/v2, the loader
// behind `docker compose`, and check that the services, dependencies,
// volumes, images, commands and mounted files fit together, and that the
// mounted configuration calls its connectors at compose services.
package deploy
