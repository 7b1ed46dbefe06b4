# syntax=docker/dockerfile:1
# tracebot: a static binary on distroless (CA certificates included; IANA time
# zones are embedded in the binary with time/tzdata), running as non-root.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=${VERSION}" -o /out/tracebot ./cmd/tracebot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tracebot /usr/local/bin/tracebot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["tracebot"]
CMD ["serve"]
