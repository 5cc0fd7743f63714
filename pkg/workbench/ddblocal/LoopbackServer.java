// LoopbackServer runs DynamoDB Local listening on 127.0.0.1 only.
//
// DynamoDB Local's own main binds its port on every interface and has no
// option to choose the address. This builds the server exactly as that main
// does (ServerRunner.createServerFromCommandLineArgs, so every DynamoDB Local
// option keeps its meaning), sets the host of the server's connector to
// 127.0.0.1 before it starts, and refuses to serve if any connector ended up
// bound to another address.
//
// Package ddblocal embeds this file and runs it in Java's source-file mode
// (Java 11+; DynamoDB Local needs 17), so nothing is compiled ahead of time:
//
//   java -Djava.library.path=<dir>/DynamoDBLocal_lib -cp <dir>/DynamoDBLocal.jar \
//       LoopbackServer.java -port 8000 -inMemory -sharedDb -disableTelemetry
//
// The arguments are DynamoDB Local's own. The jar's manifest puts
// DynamoDBLocal_lib (Jetty among it) on the class path.

import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackServer {
    static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Server jetty = jettyOf(proxy);
        Connector[] connectors = jetty.getConnectors();
        if (connectors.length == 0) {
            die(2, "DynamoDB Local's server has no connector");
        }
        for (Connector c : connectors) {
            if (!(c instanceof ServerConnector)) {
                die(2, "DynamoDB Local's connector is a " + c.getClass().getName() + ", whose address cannot be set");
            }
            ((ServerConnector) c).setHost(HOST);
        }

        // Jetty's start, not DynamoDBProxyServer.start: that one sends a
        // telemetry event and prints a bind failure without exiting.
        try {
            jetty.start();
        } catch (Throwable e) {
            System.err.println("LoopbackServer: could not start on " + HOST + ": " + causes(e));
            try {
                jetty.stop();
            } finally {
                System.exit(1);
            }
        }

        for (Connector c : connectors) {
            Object transport = ((ServerConnector) c).getTransport();
            SocketAddress local = transport instanceof ServerSocketChannel ? ((ServerSocketChannel) transport).getLocalAddress() : null;
            if (!(local instanceof InetSocketAddress) || !((InetSocketAddress) local).getAddress().isLoopbackAddress()) {
                jetty.stop();
                die(3, "DynamoDB Local listens on " + local + ", not on " + HOST + " alone: refusing to serve");
            }
            System.out.println("LoopbackServer: DynamoDB Local listens on " + local + " only");
        }
        jetty.join();
    }

    // jettyOf returns the Jetty server DynamoDBProxyServer keeps in its
    // private field "server" (set by its constructor, started by start()).
    static Server jettyOf(DynamoDBProxyServer proxy) throws Exception {
        for (Field f : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (Server.class.isAssignableFrom(f.getType())) {
                f.setAccessible(true);
                return (Server) f.get(proxy);
            }
        }
        die(2, "DynamoDBProxyServer holds no Jetty Server: this DynamoDB Local is not one LoopbackServer knows");
        return null;
    }

    // causes joins the messages of e and its causes, e.g. "Failed to bind to
    // /127.0.0.1:8000: Address already in use".
    static String causes(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (b.length() > 0) {
                b.append(": ");
            }
            b.append(t.getMessage() != null ? t.getMessage() : t.getClass().getName());
            if (t.getCause() == t) {
                break;
            }
        }
        return b.toString();
    }

    static void die(int code, String msg) {
        System.err.println("LoopbackServer: " + msg);
        System.exit(code);
    }
}
