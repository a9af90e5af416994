package app.kvits.core

import app.kvits.shared.HttpError
import app.kvits.shared.HttpHeader
import app.kvits.shared.HttpRequest
import app.kvits.shared.HttpResponse
import app.kvits.shared.HttpResult
import com.novi.serde.Bytes
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.nio.file.Files
import java.time.Duration
import java.util.Collections
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * A shell may perform an effect kind itself (as iOS does with background uploads). Here the
 * test claims HTTP and performs it with the JDK's client: the runtime hands each request over
 * through [ClaimedEffects], the answer goes back by id, and the app signs in and syncs over it.
 */
class ClaimedHttpTest {
    private val serverUrl: String = System.getenv("KVITS_SERVER_URL") ?: error("KVITS_SERVER_URL is not set")
    private val dir: File = Files.createTempDirectory("kvits-claimed-").toFile()
    private var core: Core? = null

    @After
    fun tearDown() {
        core?.close()
        dir.deleteRecursively()
    }

    @Test
    fun `claimed HTTP requests are performed by the shell and answered by id`() =
        runBlocking {
            val client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
            val seen = Collections.synchronizedList(mutableListOf<String>())
            val http =
                ClaimedEffects { kind, operation, answer ->
                    check(kind == EffectKind.HTTP) { "only HTTP was claimed, got $kind" }
                    val request = HttpRequest.bincodeDeserialize(operation)
                    seen += "${request.method} ${URI(request.url).path}"
                    // Asynchronous: a long-poll must not hold up the requests behind it.
                    client.sendAsync(request.toJdk(), java.net.http.HttpResponse.BodyHandlers.ofByteArray())
                        .whenComplete { response, failure ->
                            val result =
                                if (response != null) {
                                    HttpResult.Ok(
                                        HttpResponse(
                                            status = response.statusCode().toUShort(),
                                            headers =
                                                response.headers().map().flatMap { (name, values) ->
                                                    values.map { HttpHeader(name, it) }
                                                },
                                            body = Bytes(response.body()),
                                        ),
                                    )
                                } else {
                                    HttpResult.Err(HttpError.Io(failure?.toString() ?: "no response"))
                                }
                            answer(result.bincodeSerialize())
                        }
                }
            val phone =
                Core(dir, serverUrl, "claimed HTTP phone", MemorySecrets(), claimed = setOf(EffectKind.HTTP), effects = http)
                    .also { core = it }
            phone.await("the app started") { v -> v.screen !is app.kvits.shared.ScreenView.Loading }
            phone.send(app.kvits.shared.Event.Session(app.kvits.shared.SessionEvent.SignIn("emma@demo.kvits", "demo")))
            phone.await("signed in and synced over the shell's HTTP") { v ->
                v.user != null && v.status.lastSynced != null
            }
            assertTrue("the sign-in went through the shell: $seen", seen.any { it.startsWith("POST") && it.contains("login") })
            assertTrue("the pull went through the shell: $seen", seen.any { it.startsWith("GET") && it.contains("pull") })
        }
}

// Headers the JDK client sets itself and refuses to take.
private val restricted = setOf("host", "connection", "content-length", "expect", "upgrade")

private fun HttpRequest.toJdk(): java.net.http.HttpRequest {
    val builder =
        java.net.http.HttpRequest.newBuilder(URI(url))
            .timeout(Duration.ofSeconds(60))
            .method(
                method,
                if (body.content.isEmpty()) {
                    java.net.http.HttpRequest.BodyPublishers.noBody()
                } else {
                    java.net.http.HttpRequest.BodyPublishers.ofByteArray(body.content)
                },
            )
    headers.filter { it.name.lowercase() !in restricted }.forEach { builder.header(it.name, it.value) }
    return builder.build()
}
